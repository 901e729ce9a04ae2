package launcher

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuildProcess(t *testing.T) {
	dir := app(t,
		".env", "QUEUE='high low'\nLEVEL=INFO\n",
		"venv:.venv", "",
		"src/project/wsgi.py", "",
		"Procfile", "# processes\n"+
			"web: exec gunicorn --bind 127.0.0.1:$PORT\n"+
			"worker: python -m worker -Q $QUEUE --loglevel=${LEVEL:-WARNING}\n"+
			"clock: sh -c 'echo \"$PORT\"'\n",
		"Procfile.dev", "web: gunicorn project.wsgi --reload\n",
	)
	venv := filepath.Join(dir, ".venv")

	t.Run("server", func(t *testing.T) {
		p, err := Build(Config{AppDir: dir, Process: "web"}, []string{"PATH=/usr/bin:/bin"})
		require.NoError(t, err)
		// gunicorn gets serve's rules: the application is found.
		assert.Equal(t, filepath.Join(venv, "bin", "gunicorn"), p.Program)
		assert.Equal(t, []string{"gunicorn", "--bind", "127.0.0.1:5000", "project.wsgi"}, p.Argv)
		assert.Equal(t, "5000", value(t, p, "PORT"))
		assert.Equal(t, "web", p.Process)
		assert.Equal(t, filepath.Join(dir, "Procfile"), p.Procfile)
		assert.Equal(t, 2, p.Line)
	})
	t.Run("command expanded in the planned environment", func(t *testing.T) {
		p, err := Build(Config{AppDir: dir, Process: "worker"}, []string{"PATH=/usr/bin:/bin"})
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(venv, "bin", "python"), p.Program, "the virtualenv's bin comes first")
		assert.Equal(t, []string{"python", "-m", "worker", "-Q", "high", "low", "--loglevel=INFO"}, p.Argv)
		assert.Equal(t, "5100", value(t, p, "PORT"), "foreman's rule: 100 more for each process type before")
	})
	t.Run("inherited PORT wins", func(t *testing.T) {
		p, err := Build(Config{AppDir: dir, Process: "clock"}, []string{"PATH=/usr/bin:/bin", "PORT=8080"})
		require.NoError(t, err)
		assert.Equal(t, "/usr/bin/sh", p.Program)
		assert.Equal(t, []string{"sh", "-c", `echo "$PORT"`}, p.Argv)
		assert.Equal(t, "8080", value(t, p, "PORT"))
	})
	t.Run("Port wins over every PORT", func(t *testing.T) {
		dir := app(t, ".env", "PORT=8000\n", "Procfile", "web: sh -c $PORT\n")
		p, err := Build(Config{AppDir: dir, Process: "web", Port: 7100}, []string{"PATH=/usr/bin:/bin", "PORT=8080"})
		require.NoError(t, err)
		assert.Equal(t, []string{"sh", "-c", "7100"}, p.Argv, "expanded with it")
		assert.Equal(t, "7100", value(t, p, "PORT"))
		assert.Equal(t, []string{"inherited", ".env:1"}, p.Replaced("PORT"))
	})
	t.Run("another Procfile", func(t *testing.T) {
		p, err := Build(Config{AppDir: dir, Procfile: "Procfile.dev", Process: "web"}, []string{"PATH=/usr/bin:/bin"})
		require.NoError(t, err)
		assert.Equal(t, []string{"gunicorn", "project.wsgi", "--reload"}, p.Argv)
		assert.Equal(t, filepath.Join(dir, "Procfile.dev"), p.Procfile)
	})
	t.Run("exec", func(t *testing.T) {
		p, err := Build(Config{AppDir: dir, Process: "worker", Command: true}, []string{"PATH=/usr/bin:/bin"})
		require.NoError(t, err)
		assert.Equal(t, "python", p.Argv[0])
	})
}

func TestBuildProcessErrors(t *testing.T) {
	dir := app(t,
		".env", "",
		"Procfile", "web: gunicorn x.wsgi\nworker: nosuchprogram --x\nbad: a | b\n",
		"Broken", "web: gunicorn\nweb gunicorn\n",
	)
	env := []string{"PATH=/usr/bin:/bin"}
	procfile := filepath.Join(dir, "Procfile")
	for _, tc := range []struct {
		name string
		cfg  Config
		code int
		err  string
	}{
		{"no such process", Config{Process: "beat"}, ExitConfig,
			procfile + " has no process beat (it has web, worker, bad); add a line `beat: COMMAND`, or name one of those"},
		{"program not found", Config{Process: "worker"}, ExitNotFound,
			procfile + ":2: process worker: nosuchprogram: not found in PATH"},
		{"refused command", Config{Process: "bad"}, ExitConfig,
			procfile + ":3: process bad: shell operator '|' at column 3: runapp runs one program, with no shell; put a pipeline, redirection or list in a script and name the script, or quote the character"},
		{"bad Procfile", Config{Procfile: "Broken", Process: "web"}, ExitConfig,
			filepath.Join(dir, "Broken") + ":2: no colon: a line is `name: command`; make it one, or a comment with #"},
		{"no Procfile", Config{Procfile: "Missing", Process: "web"}, ExitConfig,
			"no Procfile at " + filepath.Join(dir, "Missing") + "; write one (a `name: command` line per process type), or name another with --procfile=FILE"},
		{"with --server", Config{Process: "web", Server: "uvicorn"}, ExitUsage,
			"--server and --process both name the program; the Procfile's command names it, so drop --server"},
		{"with arguments", Config{Process: "web", Args: []string{"--reload"}}, ExitUsage,
			`--process runs the Procfile's command as written, so it takes no arguments (got "--reload"); put them in the Procfile`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.AppDir = dir
			p, err := Build(tc.cfg, env)
			assert.Nil(t, p)
			require.Error(t, err)
			assert.Equal(t, tc.code, ExitCode(err))
			assert.EqualError(t, err, tc.err)
		})
	}
}

func TestInspectProcess(t *testing.T) {
	dir := app(t, ".env", "", "Procfile", "bad: a | b\n")
	p, failures := Inspect(Config{AppDir: dir, Process: "bad"}, nil)
	require.NotNil(t, p)
	assert.Empty(t, p.Program)
	require.Len(t, failures, 1)
	assert.Equal(t, StepProcfile, failures[0].Step)
}
