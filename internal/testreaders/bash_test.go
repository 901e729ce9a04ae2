package testreaders

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSetlocaleWarnings checks that the reference drops bash's warnings about
// a missing locale, however the locale is named, and nothing else bash says.
func TestSetlocaleWarnings(t *testing.T) {
	d := NewDir(t)
	files := []struct {
		data, wantErr string
	}{
		{"LC_ALL=xx\n", ""},
		{"LANG=yy\nLC_ALL=yy\n", ""}, // the warning without a reason
		{"LC_ALL='x)\n/y'\n", ""},
		{"LC_ALL='x): No such file'\n", ""},
		{"LC_ALL=zz\nrunapp_no_such_command\nLC_ALL='q)\nr'\n", "line 2: runapp_no_such_command: command not found"},
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = d.Add(t, []byte(f.data))
	}
	for _, locale := range BashLocales {
		for i, r := range Bash(t, d, locale, paths) {
			if files[i].wantErr == "" {
				require.Empty(t, r.Err, "%s: %q", locale, files[i].data)
				continue
			}
			require.Contains(t, r.Err, files[i].wantErr, "%s: %q", locale, files[i].data)
			require.NotContains(t, r.Err, "setlocale", "%s: %q", locale, files[i].data)
		}
	}
}
