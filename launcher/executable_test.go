package launcher

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExecutable runs the test binary through a symlink: Executable names
// the file itself, not the link it was started by.
func TestExecutable(t *testing.T) {
	if os.Getenv("RUNAPP_TEST_EXECUTABLE") != "" {
		path, err := Executable()
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error())
			os.Exit(1)
		}
		os.Stdout.WriteString(path)
		os.Exit(0)
	}
	self, err := os.Executable()
	require.NoError(t, err)
	self, err = filepath.EvalSymlinks(self)
	require.NoError(t, err)
	link := filepath.Join(t.TempDir(), "runapp")
	require.NoError(t, os.Symlink(self, link))
	cmd := exec.Command(link, "-test.run=^TestExecutable$")
	cmd.Env = append(os.Environ(), "RUNAPP_TEST_EXECUTABLE=1")
	out, err := cmd.Output()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, self, string(out))
	assert.True(t, filepath.IsAbs(string(out)))
}
