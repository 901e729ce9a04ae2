package procfile_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
	"github.com/runapp/runapp/procfile"
)

// FuzzArgv checks, for any command, that Argv returns without panicking,
// and that a command it accepts gives the words bash -c gives it: the
// differential test of TestArgvBash on input the fuzzer makes up.
func FuzzArgv(f *testing.F) {
	for _, tc := range accepted {
		f.Add(tc.cmd)
	}
	for _, s := range []string{"a | b", "a $(b)", "${X:-a b}", `"a\"b" 'c'`, "exec -a x", "A=1 b"} {
		f.Add(s)
	}
	bash := testenv.LookPath(f, "bash")
	f.Fuzz(func(t *testing.T, cmd string) {
		asked := false
		argv, err := procfile.Process{Name: "p", Command: cmd}.Argv(func(name string) (string, bool) {
			v, ok := testVars[name]
			// bash sets variables of its own (PWD, UID, _...), all
			// upper case or _: with one of those unset here, bash's
			// words would differ for a reason of the test's.
			if !ok && (name[0] == '_' || name[0] >= 'A' && name[0] <= 'Z') {
				asked = true
			}
			return v, ok
		})
		if err != nil {
			assert.Nil(t, argv)
			return
		}
		require.NotEmpty(t, argv)
		if asked {
			return
		}
		assert.Equal(t, bashArgv(t, bash, cmd, testVars), argv, "command %q", cmd)
	})
}
