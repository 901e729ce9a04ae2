package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --process runs a Procfile process type through the plan, for serve, exec
// and env alike, with the env files read by runapp and PORT set.
func TestProcess(t *testing.T) {
	dir := appDir(t, "GREETING='hello there'\n")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Procfile"), []byte("web: gunicorn\nworker: echo $PORT \"$GREETING\" $GREETING\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Procfile.dev"), []byte("worker: echo dev\n"), 0o644))
	for _, tc := range []struct {
		args []string
		out  string
	}{
		{[]string{"--app-dir", dir, "--process", "worker"}, "5100 hello there hello there\n"},
		{[]string{"serve", "--app-dir", dir, "--process", "worker"}, "5100 hello there hello there\n"},
		{[]string{"exec", "--app-dir", dir, "--process", "worker"}, "5100 hello there hello there\n"},
		{[]string{"--app-dir", dir, "--procfile=Procfile.dev", "--process", "worker"}, "dev\n"},
		{[]string{"env", "--app-dir", dir, "--process", "web"}, "process: web (" + filepath.Join(dir, "Procfile") + ":1)\nprogram: " + filepath.Join(dir, ".venv", "bin", "gunicorn") + "\nargv:    gunicorn project.wsgi\n"},
	} {
		r := runapp(t, nil, tc.args...)
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, tc.out)
	}

	r := runapp(t, nil, "--app-dir", dir, "--procfile", "Procfile.dev", "--process", "worker")
	assert.Equal(t, 2, r.code)
	assert.Equal(t, "runapp: --procfile takes its FILE after an equals sign: --procfile=Procfile.dev (--procfile alone names the app directory's Procfile)\n", r.stderr)

	r = runapp(t, nil, "--app-dir", dir, "--process", "beat")
	assert.Equal(t, 78, r.code)
	assert.Equal(t, "runapp: "+filepath.Join(dir, "Procfile")+" has no process beat (it has web, worker); add a line `beat: COMMAND`, or name one of those\n", r.stderr)
}

func TestProcfileWithoutProcess(t *testing.T) {
	dir := appDir(t, "")
	for _, cmd := range []string{"serve", "exec", "env"} {
		r := runapp(t, nil, cmd, "--app-dir", dir, "--procfile")
		assert.Equal(t, 2, r.code, cmd)
		assert.Equal(t, "runapp: --procfile names the Procfile of a process: add --process NAME (one of the Procfile's process types)\n", r.stderr, cmd)
	}
}
