package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runapp kube prints the manifests, and with --procfile=FILE reads the
// Procfile where it runs: a Deployment per type, each naming its type.
func TestKube(t *testing.T) {
	procfile := filepath.Join(t.TempDir(), "Procfile")
	require.NoError(t, os.WriteFile(procfile, []byte("web: gunicorn --bind 0.0.0.0:$PORT\nworker: celery -A project worker\nclean: python manage.py clearsessions\n"), 0o644))

	r := runapp(t, nil, "kube", "--app-dir", "/srv/app", "--image", "shop:1", "--", "--bind", "0.0.0.0:8000")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "kind: Deployment\n")
	assert.Contains(t, r.stdout, "kind: Service\n")

	r = runapp(t, nil, "kube", "--app-dir", "/srv/app", "--image", "shop:1", "--procfile="+procfile)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "  name: app-web\n")
	assert.Contains(t, r.stdout, "  name: app-worker\n")
	assert.Contains(t, r.stdout, "        - \"--procfile="+procfile+"\"\n        - \"--process\"\n        - worker\n")
	assert.Contains(t, r.stdout, "containerPort: 5000\n", "the web type's $PORT, by foreman's rule")

	// --every makes a CronJob of a type, --longest-task the workers' grace.
	r = runapp(t, nil, "kube", "--app-dir", "/srv/app", "--image", "shop:1", "--procfile="+procfile, "--every", "clean=daily", "--longest-task", "5m")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "kind: CronJob\nmetadata:\n  name: app-clean\n")
	assert.Contains(t, r.stdout, "  schedule: \"0 0 * * *\"\n")
	assert.Contains(t, r.stdout, "terminationGracePeriodSeconds: 310\n", "the worker's: 5 min and 10 s")

	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"kube", "--image", "shop:1"}, 2, "runapp: give --app-dir: the app's directory in the image, e.g. /srv/app\n"},
		{[]string{"kube", "--app-dir", "/srv/app", "--image", "shop:1", "--procfile=" + procfile, "--", "-w", "2"}, 2,
			"runapp: with --procfile or --process the Procfile's commands name the programs and their arguments: drop --server and SERVER-ARGS\n"},
		{[]string{"kube", "--app-dir", "/srv/app", "--image", "shop:1", "--procfile=" + procfile + ".missing"}, 78,
			"runapp: no Procfile at " + procfile + ".missing; write one (a `name: command` line per process type), or name another with --procfile=FILE\n"},
		{[]string{"kube", "--app-dir", "/srv/app", "--image", "shop:1", "--procfile=" + procfile, "--every", "clean=*-*-01 03:00"}, 2,
			"runapp: --every clean=*-*-01 03:00: a CronJob's schedule is cron's (minute hour day month weekday, to the minute), and runapp kube takes only the systemd calendars that cron writes exactly: minutely, hourly, daily, weekly, monthly, yearly, or [WEEKDAYS] [*-*-*] HH:MM[:00], e.g. Mon..Fri *-*-* 03:00 or Sun 04:30\n"},
		{[]string{"kube", "--app-dir", "/srv/app", "--image", "shop:1", "--procfile=" + procfile, "--every", "web=daily"}, 2,
			"runapp: --every web: process web is a web server (gunicorn), which runs as a Deployment: it takes no --every\n"},
		{[]string{"kube", "--app-dir", "/srv/app", "--image", "shop:1", "--every", "clean=daily", "--", "--bind", "0.0.0.0:8000"}, 2,
			"runapp: --every is about the processes of a Procfile: add --procfile\n"},
	} {
		r := runapp(t, nil, tc.args...)
		assert.Equal(t, tc.code, r.code, "%v", tc.args)
		assert.Equal(t, tc.stderr, r.stderr, "%v", tc.args)
		assert.Empty(t, r.stdout)
	}
}
