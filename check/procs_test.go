package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/unitfile"
)

// The facts of the table (package server) each found in a process's
// installed unit, and the Procfile's commands checked as their units will
// run them.
func TestProcesses(t *testing.T) {
	dir := app(t, with("Procfile", "web: gunicorn\n"+
		"worker: celery -A project worker\n"+
		"rq: rq worker\n"+
		"beat: celery -A project beat\n"+
		"multi: celery -A project multi start w1\n"+
		"bad: a | b\n"+
		"missing: nosuchprogram\n"+
		"release: python manage.py migrate\n"+
		"slow: rq worker\n")...)
	procfile := filepath.Join(dir, "Procfile")
	units := t.TempDir()
	unit := func(name, text string) string {
		path := filepath.Join(units, "app-"+name+".service")
		require.NoError(t, os.WriteFile(path, []byte("[Service]\nUser=nobody\nExecStart=/usr/bin/runapp --app-dir "+dir+" --process "+name+"\n"+text), 0o644))
		return path
	}
	worker := unit("worker", "TimeoutStopSec=5\nExecReload=/bin/kill -HUP $MAINPID\n")
	rq := unit("rq", "Type=notify\nExecReload=/bin/kill -s HUP $MAINPID\nKillMode=process\n")
	beat := unit("beat", "ExecReload=/bin/kill -HUP $MAINPID\nKillMode=mixed\n")
	release := unit("release", "")
	slow := unit("slow", "KillMode=mixed\nTimeoutStopSec=25min\n")

	r := Run(Options{
		Config: launcher.Config{AppDir: dir, Process: "web"}, Environ: []string{"PATH=/usr/bin:/bin"},
		Processes: true, WholeApp: true, Name: "app", UnitPath: []string{units},
		LongestTask: 20 * time.Minute, User: "nobody",
	})
	type found struct{ sev, check, where string }
	var got []found
	text := map[found]string{}
	for _, p := range r.Problems {
		f := found{string(p.Severity), p.Check, p.Where}
		got = append(got, f)
		text[f] = p.Message + "; " + p.Fix
	}
	for _, w := range []struct {
		f    found
		text string
	}{
		{found{"error", IDProcessSupervisor, procfile + ":5"}, "process multi: celery multi starts its workers in the background and exits"},
		{found{"error", IDProcfileCommand, procfile + ":6"}, "process bad: shell operator '|' at column 3"},
		{found{"error", IDProcfileCommand, procfile + ":7"}, "process missing: nosuchprogram: not found"},
		{found{"error", IDProcessKillMode, worker}, "KillMode=control-group (systemd's default) sends TERM to celery worker's children too"},
		{found{"warning", IDProcessReload, worker + ":5"}, "ExecReload= sends HUP to celery worker, which then shuts down warm and execs itself again"},
		{found{"error", IDProcessTimeout, worker + ":4"}, "TimeoutStopSec=5s: celery worker's warm shutdown waits for running tasks"},
		{found{"error", IDUnitType, rq + ":4"}, "Type=notify waits for READY=1, which rq worker never sends"},
		{found{"error", IDProcessReload, rq + ":5"}, "ExecReload= sends HUP to rq worker, which has no handler for it and dies"},
		{found{"warning", IDProcessKillMode, rq + ":6"}, "KillMode=process stops only rq worker's main process"},
		{found{"error", IDProcessTimeout, rq}, "TimeoutStopSec=1m30s"},
		{found{"error", IDProcessReload, beat + ":4"}, "ExecReload= sends HUP to celery beat, which has no handler for it and dies"},
		{found{"error", IDProcessRelease, release}, "the release process runs as a service"},
	} {
		assert.Contains(t, got, w.f)
		assert.Contains(t, text[w.f], w.text, "%v", w.f)
	}
	for _, f := range got {
		assert.NotEqual(t, slow, strings.Split(f.where, ":")[0], "a worker fitted to its row: %v %s", f, text[f])
		if f.where == beat+":5" {
			t.Errorf("KillMode=mixed on beat: %s", text[f])
		}
	}
}

// A template unit's instances run one command with one set of env files:
// a scheduler runs once, and a worker named among its peers takes its name
// from the instance.
func TestProcessInstances(t *testing.T) {
	run := func(t *testing.T, dir string, units map[string]string) map[string]string {
		t.Helper()
		path := t.TempDir()
		for name, text := range units {
			require.NoError(t, os.WriteFile(filepath.Join(path, "app-"+name+"@.service"),
				[]byte("[Service]\nUser=nobody\nKillMode=mixed\nTimeoutStopSec=1h\nExecStart=/usr/bin/runapp --app-dir "+dir+" --process "+name+"\n"+text), 0o644))
		}
		r := Run(Options{Config: launcher.Config{AppDir: dir}, Environ: []string{"PATH=/usr/bin:/bin"}, Processes: true, WholeApp: true, Name: "app", UnitPath: []string{path}, User: "nobody"})
		got := map[string]string{}
		for _, p := range r.Problems {
			if p.Check == IDProcessInstances {
				got[p.Where] = string(p.Severity) + ": " + p.Message + "; " + p.Fix
			}
		}
		return got
	}
	t.Run("units", func(t *testing.T) {
		dir := app(t, with("Procfile", "web: gunicorn\n"+
			"worker: celery -A project worker\n"+
			"named: celery -A project worker -n fixed@%h\n"+
			"good: celery -A project worker\n"+
			"rqnamed: rq worker --name fixed\n"+
			"beat: celery -A project beat\n"+
			"rq: rq worker\n")...)
		got := run(t, dir, map[string]string{
			"worker": "", "named": "Environment=CELERY_WORKER_HOSTNAME=%p-%i@%%h\n",
			"good": "Environment=CELERY_WORKER_HOSTNAME=%p-%i@%%h\n", "rqnamed": "", "beat": "", "rq": "",
		})
		procfile := filepath.Join(dir, "Procfile")
		want := map[string]string{
			"app-worker@.service": "warning: every instance of app-worker@.service runs celery worker under its default name, celery@HOST",
			procfile + ":3":       "warning: the command names its worker with -n, and every instance of app-named@.service runs it",
			procfile + ":5":       "error: the command names its worker with --name, and every instance of app-rqnamed@.service runs it: they all take that name (rq worker refuses to start a second worker",
			"app-beat@.service":   "error: app-beat@.service is a template: each of its instances runs celery beat, and every one sends each scheduled task",
		}
		assert.Len(t, got, len(want), "%v", got)
		for where, text := range want {
			found := false
			for w, g := range got {
				if strings.HasSuffix(w, where) {
					found = true
					assert.Contains(t, g, text)
				}
			}
			assert.True(t, found, "nothing at %s in %v", where, got)
		}
	})
	t.Run("env file", func(t *testing.T) {
		dir := app(t, with("Procfile", "worker: celery -A project worker\n", ".env", "SECRET_KEY=x\nCELERY_WORKER_HOSTNAME=one@%h\n")...)
		got := run(t, dir, map[string]string{"worker": "Environment=CELERY_WORKER_HOSTNAME=%p-%i@%%h\n"})
		assert.Equal(t, map[string]string{".env:2": "warning: CELERY_WORKER_HOSTNAME names the celery worker, one name for every instance of app-worker@.service: the env files win over the unit's Environment=; remove it from the env file; the unit names each instance (runapp unit --procfile --scale writes CELERY_WORKER_HOSTNAME=%p-%i@%%h)"}, got)
	})
}

// Without --longest-task a short TimeoutStopSec= is a warning.
func TestProcessTimeoutDefault(t *testing.T) {
	dir := app(t, with("Procfile", "worker: celery -A project worker\n")...)
	units := t.TempDir()
	path := filepath.Join(units, "app-worker.service")
	require.NoError(t, os.WriteFile(path, []byte("[Service]\nUser=nobody\nKillMode=mixed\nTimeoutStopSec=10\n"), 0o644))
	r := Run(Options{Config: launcher.Config{AppDir: dir}, Environ: []string{"PATH=/usr/bin:/bin"}, Processes: true, WholeApp: true, Name: "app", UnitPath: []string{units}, User: "nobody"})
	var checks []string
	for _, p := range r.Problems {
		checks = append(checks, string(p.Severity)+" "+p.Check)
	}
	assert.Contains(t, checks, "warning "+IDProcessTimeout)
	assert.NotContains(t, checks, "error "+IDProcessTimeout)
}

func TestProcfileSyntax(t *testing.T) {
	dir := app(t, with("Procfile", "web: gunicorn\nweb gunicorn\n")...)
	r := Run(Options{Config: launcher.Config{AppDir: dir}, Environ: []string{"PATH=/usr/bin:/bin"}, Processes: true})
	require.NotEmpty(t, r.Problems)
	var found bool
	for _, p := range r.Problems {
		if p.Check == IDProcfileSyntax {
			found = true
			assert.Equal(t, filepath.Join(dir, "Procfile")+":2", p.Where)
			assert.Equal(t, "no colon: a line is `name: command`", p.Message)
		}
	}
	assert.True(t, found, "%v", r.Problems)
}

// reloadSignal reads every way kill names a signal; before, kill -s HUP
// was read as no signal at all.
func TestReloadSignal(t *testing.T) {
	for _, tc := range []struct{ exec, sig string }{
		{"/bin/kill -HUP $MAINPID", "HUP"},
		{"/bin/kill -s HUP $MAINPID", "HUP"},
		{"/usr/bin/kill -sHUP $MAINPID", "HUP"},
		{"/bin/kill --signal SIGUSR2 $MAINPID", "USR2"},
		{"/bin/kill $MAINPID", "TERM"},
		{"/usr/local/bin/reload-app", ""},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "x.service")
		require.NoError(t, os.WriteFile(path, []byte("[Service]\nExecReload="+tc.exec+"\n"), 0o644))
		u, err := unitfile.LoadFile(path)
		require.NoError(t, err)
		sig, _ := reloadSignal(&unitFile{Unit: u, path: path})
		assert.Equal(t, tc.sig, sig, tc.exec)
	}
}
