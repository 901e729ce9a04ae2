package check

// Differential tests: what this package reads without running gunicorn,
// Python or systemd is compared with what they read themselves.

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
		got, err := parseTimespan(s)
		require.NoError(t, err, s)
		assert.Equal(t, time.Duration(n)*time.Microsecond, got, s)
	}
	d, err := parseTimespan("infinity")
	require.NoError(t, err)
	assert.Zero(t, d)
	for _, bad := range []string{"", "abc", "5 parsecs", "1M"} {
		_, err := parseTimespan(bad)
		assert.Error(t, err, bad)
	}
}

func TestLastCommand(t *testing.T) {
	tests := []struct {
		script, last string
		line         int
	}{
		{"#!/bin/bash\nset -a\nsource .env\nexec gunicorn x\n", "exec gunicorn x", 4},
		{"#!/bin/sh\nexec \\\n  gunicorn x\n# end\n\n", "exec    gunicorn x", 2},
		{"#!/bin/sh\ncd /srv && gunicorn x;\n", "gunicorn x", 2},
		{"#!/bin/sh\nif true; then\n  exec gunicorn\nfi\n", "", 0},
	}
	for _, tt := range tests {
		last, line := lastCommand(tt.script)
		assert.Equal(t, tt.last, last, tt.script)
		assert.Equal(t, tt.line, line, tt.script)
	}
}

func TestBindPort(t *testing.T) {
	tests := map[string]int{"0.0.0.0:80": 80, ":443": 443, "[::]:8443": 8443, "localhost": 8000, "[::1]": 8000, "unix:/run/a.sock": -1, "fd://3": -1}
	for b, want := range tests {
		port, ok := bindPort(b)
		if want < 0 {
			assert.False(t, ok, b)
			continue
		}
		assert.True(t, ok, b)
		assert.Equal(t, want, port, b)
	}
}

// TestUnitCommandMatchesUnitgen reads back the ExecStart= runapp unit
// writes, whose quoting is checked against systemd's own parser in
// unitgen's tests.
func TestUnitCommandMatchesUnitgen(t *testing.T) {
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
	argv, credentials, err := UnitCommand(path)
	require.NoError(t, err)
	assert.Equal(t, want, argv)
	assert.NotEmpty(t, credentials)
	for _, src := range credentials {
		assert.True(t, strings.HasPrefix(src, dir+"/"), src)
	}
}
