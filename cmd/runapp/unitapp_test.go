package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func procfileApp(t *testing.T, procfile string) string {
	t.Helper()
	dir := appDir(t, "SECRET_KEY='"+secret+"'\nQUEUES='high low'\n")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Procfile"), []byte(procfile), 0o644))
	return dir
}

// unit --procfile writes the whole app: a unit per process type fitted to
// its row of the table, each running runapp --process, and the target.
func TestUnitProcfile(t *testing.T) {
	dir := procfileApp(t, "web: gunicorn --bind 127.0.0.1:8000\nworker: celery -A project worker -Q $QUEUES\nrelease: python manage.py migrate\nclear: python manage.py clearsessions\n")
	out := t.TempDir()
	args := append([]string{"unit", "--app-dir", dir, "--procfile", "--name", "shop", "--scale", "worker=2", "--every", "clear=daily", "--longest-task", "10m", "--write", out}, fixed...)
	stdout, stderr, code := runIn(t, args...)
	require.Equal(t, 0, code, stderr)
	var written []string
	for _, f := range []string{"shop-clear.service", "shop-clear.timer", "shop-web.service", "shop-web.socket", "shop-worker@.service", "shop.target"} {
		written = append(written, filepath.Join(out, f))
	}
	assert.Equal(t, strings.Join(written, "\n")+"\n", stdout)
	assert.Contains(t, stderr, "Procfile:3: process release gets no unit: runapp deploy runs it")
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(out, name))
		require.NoError(t, err)
		assert.NotContains(t, string(data), secret)
		// Nothing from the env files: the one Environment= line names
		// each celery worker instance apart.
		assert.NotContains(t, strings.ReplaceAll(string(data), "\nEnvironment=CELERY_WORKER_HOSTNAME=%p-%i@%%h\n", "\n"), "Environment=")
		return string(data)
	}
	assert.Contains(t, read("shop-worker@.service"), "\nEnvironment=CELERY_WORKER_HOSTNAME=%p-%i@%%h\n")
	assert.Contains(t, read("shop-worker@.service"), "\nExecStart=/usr/local/bin/runapp --app-dir "+dir+" --env-file .env --process worker\n")
	assert.Contains(t, read("shop-worker@.service"), "\nTimeoutStopSec=610\n")
	assert.Contains(t, read("shop-web.socket"), "\nListenStream=127.0.0.1:8000\n")
	assert.Contains(t, read("shop-clear.timer"), "\nOnCalendar=daily\n")
	assert.Contains(t, read("shop.target"), "\nWants=shop-web.socket shop-web.service shop-worker@1.service shop-worker@2.service shop-clear.timer\n")
	assert.NoFileExists(t, filepath.Join(out, "shop-release.service"))
}

func TestUnitProcfileRefused(t *testing.T) {
	dir := procfileApp(t, "web: gunicorn\nworker: celery -A project multi start w1\nbeat: celery -A project beat\nrelease: python manage.py migrate\n")
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{nil, 78, "Procfile:2: process worker: celery multi starts its workers in the background and exits"},
		{[]string{"--every", "beat=bogus"}, 2, `--every: "bogus" is not a calendar systemd reads`},
		{[]string{"--every", "nope=daily"}, 2, "has no process nope (it has web, worker, beat, release)"},
		{[]string{"--scale", "web=2"}, 2, "process web is a web server (gunicorn), which runs as one service with its socket"},
		{[]string{"--scale", "release=2"}, 2, "process release runs at deploy, never as a service"},
		{[]string{"--scale", "beat=0"}, 2, "--scale beat=0: want a number of instances, 1 or more"},
		{[]string{"--scale", "beat=2"}, 2, "process beat is a scheduler (celery beat): each one running sends every scheduled task, so it runs once"},
		{[]string{"--scale", "named=2"}, 2, "Procfile:5: process named names its worker with -nw@%h, so its 2 instances would all take that one name (celery worker); remove it: each instance is then named "},
		{[]string{"--scale", "rqn=3"}, 2, "Procfile:6: process rqn names its worker with --name=fixed, so its 3 instances would all take that one name (rq worker); remove it: each instance then names itself uniquely"},
		{[]string{"--", "x.wsgi"}, 2, "no SERVER-ARGS"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			if tc.err != "" && !strings.Contains(tc.err, "multi") {
				// The Procfile's multi line is refused first otherwise.
				require.NoError(t, os.WriteFile(filepath.Join(dir, "Procfile"), []byte("web: gunicorn\nbeat: celery -A project beat\nrelease: python manage.py migrate\nworker: celery -A project worker\nnamed: celery -A project worker -nw@%h\nrqn: rq worker --name=fixed\n"), 0o644))
				tc.err = strings.Replace(tc.err, "web, worker, beat, release", "web, beat, release, worker, named, rqn", 1)
			}
			args := append(append([]string{"unit", "--app-dir", dir, "--procfile"}, fixed...), tc.args...)
			_, stderr, code := runIn(t, args...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Contains(t, stderr, tc.err)
		})
	}
	_, stderr, code := runIn(t, append([]string{"unit", "--app-dir", dir, "--scale", "worker=2"}, fixed...)...)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "add --procfile")
}

// check on an app with a Procfile checks every process; with --unit
// NAME.target it would also read each installed NAME-TYPE.service.
func TestCheckProcfile(t *testing.T) {
	dir := procfileApp(t, "web: gunicorn\nworker: celery -A project multi start w1\nbad: a | b\n")
	stdout, stderr, code := runIn(t, "check", "--app-dir", dir, "--user", "nobody")
	assert.Equal(t, 78, code, stderr)
	assert.Regexp(t, regexp.QuoteMeta(filepath.Join(dir, "Procfile")+":2")+` +process worker: celery multi starts its workers in the background and exits`, stdout)
	assert.Regexp(t, regexp.QuoteMeta(filepath.Join(dir, "Procfile")+":3")+` +process bad: shell operator '\|'`, stdout)
	assert.NotContains(t, stdout, secret)
}
