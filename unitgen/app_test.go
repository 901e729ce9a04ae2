package unitgen

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
	"github.com/runapp/runapp/launcher"
)

// shopApp is an app with a process of every row of the table: a web
// server (with its socket), a celery worker, celery beat, an rq worker as
// three instances, a plain program, a job on a timer and a release
// command, which gets no unit.
func shopApp(root string) App {
	return App{
		Options: Options{
			Config: launcher.Config{
				AppDir:   root + "/srv/shop",
				Venv:     root + "/srv/shop/venv",
				Procfile: launcher.DefaultProcfile,
			},
			Runapp:        root + "/usr/local/bin/runapp",
			Name:          "shop",
			User:          "www-data",
			Group:         "www-data",
			Hardening:     Strict,
			Listen:        "127.0.0.1:8000",
			ServerVersion: "20.1.0",
		},
		LongestTask: 10 * time.Minute,
		Processes: []AppProcess{
			{Name: "web", Argv: []string{"gunicorn", "shop.wsgi", "--bind", "127.0.0.1:8000"}},
			{Name: "worker", Argv: []string{"celery", "-A", "shop", "worker", "-l", "INFO"}, Scale: 2},
			{Name: "beat", Argv: []string{"celery", "-A", "shop", "beat", "-s", "/var/lib/shop-beat/schedule"}},
			{Name: "rq", Argv: []string{"rq", "worker", "--url", "redis://127.0.0.1:6379/0"}, Scale: 3},
			{Name: "clock", Argv: []string{"python", "clock.py"}},
			{Name: "clearsessions", Argv: []string{"python", "manage.py", "clearsessions"}, Calendar: "*-*-* 03:00:00"},
			{Name: "release", Argv: []string{"python", "manage.py", "migrate"}},
		},
	}
}

func TestAppGolden(t *testing.T) {
	files, err := Units(shopApp(""))
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
		golden := filepath.Join("testdata", "app", f.Name)
		if *update {
			require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
			require.NoError(t, os.WriteFile(golden, []byte(f.Text), 0o644))
		}
		want, err := os.ReadFile(golden)
		require.NoError(t, err, "run go test ./unitgen -update")
		assert.Equal(t, string(want), f.Text, "%s differs; review and run go test ./unitgen -update", golden)
	}
	assert.Equal(t, []string{
		"shop-web.service", "shop-web.socket", "shop-worker@.service", "shop-beat.service",
		"shop-rq@.service", "shop-clock.service", "shop-clearsessions.service", "shop-clearsessions.timer",
		"shop.target",
	}, names, "release is no unit")
	again, err := Units(shopApp(""))
	require.NoError(t, err)
	assert.Equal(t, files, again, "deterministic")
}

// writeApp writes the app's units into a new directory under which every
// path exists, as writeCase does for one unit.
func writeApp(t *testing.T) (string, []File) {
	t.Helper()
	root, err := os.MkdirTemp("", "unitgen-app-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(root) })
	require.NoError(t, os.Chmod(root, 0o755))
	a := shopApp(root)
	require.NoError(t, os.MkdirAll(filepath.Dir(a.Runapp), 0o755))
	require.NoError(t, os.WriteFile(a.Runapp, []byte("#!/bin/sh\n"), 0o755))
	files, err := Units(a)
	require.NoError(t, err)
	for _, f := range files {
		require.NoError(t, os.WriteFile(filepath.Join(root, f.Name), []byte(f.Text), 0o644))
	}
	// A template is verified as one of its instances.
	for _, f := range files {
		if strings.HasSuffix(f.Name, "@.service") {
			require.NoError(t, os.WriteFile(filepath.Join(root, instance(f.Name)), []byte(f.Text), 0o644))
		}
	}
	return root, files
}

// instance is the name of a template's first instance, and any other
// unit's own name.
func instance(name string) string { return strings.Replace(name, "@.", "@1.", 1) }

// Every unit of the app verifies clean, the target with every unit it
// wants found beside it.
func TestAppVerify(t *testing.T) {
	analyze := testenv.LookPath(t, "systemd-analyze")
	root, files := writeApp(t)
	for _, f := range files {
		name := instance(f.Name)
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(analyze, "verify", "--man=no", "--generators=no", filepath.Join(root, name)).CombinedOutput()
			assert.NoError(t, err)
			assert.Empty(t, string(out))
		})
	}
}

// Every process's service is sandboxed as the web process's is: its
// exposure is no worse.
func TestAppSecurity(t *testing.T) {
	analyze := testenv.LookPath(t, "systemd-analyze")
	root, files := writeApp(t)
	web := exposure(t, analyze, filepath.Join(root, "shop-web.service"))
	for _, f := range files {
		if !strings.HasSuffix(f.Name, ".service") || f.Name == "shop-web.service" {
			continue
		}
		name := instance(f.Name)
		score := exposure(t, analyze, filepath.Join(root, name))
		t.Logf("exposure of %s: %.1f (web %.1f)", name, score, web)
		assert.LessOrEqual(t, score, web, name)
	}
}

// Each service fits its row of the table.
func TestAppFitsTheTable(t *testing.T) {
	files, err := Units(shopApp(""))
	require.NoError(t, err)
	text := map[string]string{}
	for _, f := range files {
		text[f.Name] = f.Text
	}
	for _, tc := range []struct {
		file     string
		has, not []string
	}{
		{"shop-web.service", []string{"Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "KillMode=mixed", "TimeoutStopSec=40", "Requires=shop-web.socket", "PartOf=shop.target", "WantedBy=shop.target",
			"ExecStart=/usr/local/bin/runapp --app-dir /srv/shop --env-file .env --venv /srv/shop/venv --process web\n"}, nil},
		{"shop-worker@.service", []string{"Type=exec", "KillMode=mixed", "TimeoutStopSec=610", "Restart=on-failure", "PartOf=shop.target", "--process worker\n", "\nEnvironment=CELERY_WORKER_HOSTNAME=%p-%i@%%h\n"},
			[]string{"ExecReload", "EnvironmentFile", "AmbientCapabilities"}},
		{"shop-beat.service", []string{"Type=exec", "KillMode=mixed", "TimeoutStopSec=40", "StateDirectory=shop-beat", "--process beat\n"}, []string{"ExecReload"}},
		{"shop-rq@.service", []string{"Type=exec", "KillMode=mixed", "TimeoutStopSec=610", "Description=rq (rq worker) of /srv/shop, started by runapp, instance %i", "--process rq\n"}, []string{"ExecReload", "Environment="}},
		{"shop-clock.service", []string{"Type=exec", "TimeoutStopSec=40", "--process clock\n"}, []string{"ExecReload", "AmbientCapabilities"}},
		{"shop-clearsessions.service", []string{"Type=oneshot", "--process clearsessions\n", "PartOf=shop.target"}, []string{"Restart=", "[Install]", "ExecReload"}},
		{"shop-clearsessions.timer", []string{"OnCalendar=*-*-* 03:00:00", "WantedBy=shop.target"}, nil},
		{"shop.target", []string{"Wants=shop-web.socket shop-web.service shop-worker@1.service shop-worker@2.service shop-beat.service shop-rq@1.service shop-rq@2.service shop-rq@3.service shop-clock.service shop-clearsessions.timer\n", "WantedBy=multi-user.target"}, []string{"release"}},
	} {
		for _, s := range tc.has {
			assert.Contains(t, text[tc.file], s, tc.file)
		}
		for _, s := range tc.not {
			assert.NotContains(t, text[tc.file], s, tc.file)
		}
	}
}

func TestAppRefused(t *testing.T) {
	a := shopApp("")
	a.Processes = []AppProcess{{Name: "worker", Argv: []string{"celery", "-A", "shop", "multi", "start", "w1"}}}
	_, err := Units(a)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "process worker: celery multi starts its workers in the background and exits")
	assert.Equal(t, launcher.ExitConfig, launcher.ExitCode(err))
}
