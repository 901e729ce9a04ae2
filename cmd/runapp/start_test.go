package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startApp is an app directory whose Procfile's processes say their PORT.
func startApp(t *testing.T, dotenv string) string {
	t.Helper()
	dir := appDir(t, dotenv)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Procfile"), []byte(
		"first: echo first $PORT\nsecond: echo second $PORT\nfail: sh -c \"exit 3\"\nrelease: echo release\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Procfile.multi"), []byte(
		"web: echo web\nworker: python -m celery -A proj multi start w1\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Procfile.release"), []byte("release: echo release\n"), 0o644))
	return dir
}

// PORT is counted as foreman counts it: a base (--port, else PORT from the
// env files, else the inherited PORT, else 5000), plus 100 for each process
// type before it in the Procfile, whichever run.
func TestStartPort(t *testing.T) {
	for _, tc := range []struct {
		name   string
		dotenv string
		env    []string
		args   []string
		want   string
	}{
		{"default", "", nil, nil, "second 5100"},
		{"inherited", "", []string{"PORT=9000"}, nil, "second 9100"},
		{"env file over inherited", "PORT=8000\n", []string{"PORT=9000"}, nil, "second 8100"},
		{"--port over all", "PORT=8000\n", []string{"PORT=9000"}, []string{"--port", "6000"}, "second 6100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := startApp(t, tc.dotenv)
			r := runapp(t, tc.env, append(append([]string{"start", "--app-dir", dir}, tc.args...), "second")...)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Contains(t, r.stdout, "second | "+tc.want+"\n")
			assert.NotContains(t, r.stdout, "first")
			assert.Empty(t, r.stderr)
		})
	}
}

func TestStartErrors(t *testing.T) {
	dir := startApp(t, "")
	procfile := filepath.Join(dir, "Procfile")
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		code int
		err  string
	}{
		{"exit status", []string{"fail"}, nil, 3, "fail exited with status 3"},
		{"no such process", []string{"beat"}, nil, 78, "start: " + procfile + " has no process beat (it has first, second, fail, release)"},
		{"release only", []string{"--procfile=Procfile.release"}, nil, 78,
			"start: " + filepath.Join(dir, "Procfile.release") + " has no process type to start but release; name it to run it: runapp start release"},
		{"celery multi", []string{"--procfile=Procfile.multi"}, nil, 78,
			filepath.Join(dir, "Procfile.multi") + ":2: process worker: celery multi starts its workers in the background and exits, so the process systemd watches is gone at once (celery's docs pair it with Type=forking and pidfiles); run one `celery -A APP worker` per process type instead, and several instances with runapp unit --procfile --scale worker=N"},
		{"--process", []string{"--process", "first"}, nil, 2, "start: flag provided but not defined: -process (see runapp start -h)"},
		{"--server", []string{"--server", "uvicorn"}, nil, 2, "start: flag provided but not defined: -server (see runapp start -h)"},
		{"bad PORT", nil, []string{"PORT=http"}, 78, `start: PORT "http" (inherited) is not a port number to count process types' ports from; set a number, or give --port`},
		{"bad --port", []string{"--port", "65500"}, nil, 2, "start: --port 65500 is not a port number that leaves room for more process types"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runapp(t, tc.env, append([]string{"start", "--app-dir", dir}, tc.args...)...)
			assert.Equal(t, tc.code, r.code)
			assert.Equal(t, "runapp: "+tc.err+"\n", r.stderr)
		})
	}
}
