package unitfile

// Differential tests: what this package reads is compared with what
// systemd and runapp unit write and read.

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/unitgen"
)

func TestParseTimespanMatchesSystemd(t *testing.T) {
	analyze := testenv.LookPath(t, "systemd-analyze")
	spans := []string{"90", "90s", "1min 30s", "1m30s", "500ms", "2h", "1.5s", "3 min", "20sec", "1w 2d", "100us", "0"}
	out, err := exec.Command(analyze, append([]string{"timespan"}, spans...)...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	usec := regexp.MustCompile(`μs: (\d+)`).FindAllStringSubmatch(string(out), -1)
	require.Len(t, usec, len(spans), "%s", out)
	for i, s := range spans {
		n, err := strconv.ParseInt(usec[i][1], 10, 64)
		require.NoError(t, err)
		got, err := ParseTimespan(s)
		require.NoError(t, err, s)
		assert.Equal(t, time.Duration(n)*time.Microsecond, got, s)
	}
	d, err := ParseTimespan("infinity")
	require.NoError(t, err)
	assert.Zero(t, d)
	for _, bad := range []string{"", "abc", "5 parsecs", "1M"} {
		_, err := ParseTimespan(bad)
		assert.Error(t, err, bad)
	}
}

// TestCommandMatchesUnitgen reads back the ExecStart= runapp unit
// writes, whose quoting is checked against systemd's own parser in
// unitgen's tests.
func TestCommandMatchesUnitgen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "odd app 100%")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	o := unitgen.Options{
		Config: launcher.Config{
			AppDir:   dir,
			EnvFiles: []string{".env", "local $x.env"},
			Args:     []string{"--access-logformat", `%(h)s "%(r)s" $HOME`, `back\slash`, "semi;colon", "", "it's", "project.wsgi"},
		},
		Runapp:        "/usr/local/bin/runapp",
		Name:          "app",
		User:          "nobody",
		ServerVersion: "20.1.0",
		Credential:    true,
	}
	want, err := unitgen.ExecArgv(o)
	require.NoError(t, err)
	text, err := unitgen.Service(o)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "app.service")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	u, err := LoadFile(path)
	require.NoError(t, err)
	argv, credentials, err := u.Command()
	require.NoError(t, err)
	assert.Equal(t, want, argv)
	assert.NotEmpty(t, credentials)
	for _, src := range credentials {
		assert.True(t, strings.HasPrefix(src, dir+"/"), src)
	}
}

func TestSplitCommand(t *testing.T) {
	for v, want := range map[string][]string{
		"/usr/bin/runapp --app-dir /srv/app": {"/usr/bin/runapp", "--app-dir", "/srv/app"},
		"-@/usr/bin/runapp runapp --x":       {"/usr/bin/runapp", "--x"},
		`"/opt/my app/run" 'a b' c\ d`:       {"/opt/my app/run", "a b", "c d"},
		`/bin/echo 100%% $$HOME %d/env %%d`:  {"/bin/echo", "100%", "$HOME", "/run/credentials/x/env", "%d"},
		"":                                   nil,
	} {
		got, err := SplitCommand(v, "/run/credentials/x")
		require.NoError(t, err, v)
		assert.Equal(t, want, got, v)
	}
	_, err := SplitCommand(`"/opt/unterminated`, "")
	assert.Error(t, err)
}
