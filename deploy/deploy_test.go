package deploy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/check"
	"github.com/runapp/runapp/internal/running"
	"github.com/runapp/runapp/launcher"
)

const secret = "s3cr3t-value-never-printed"

// app makes an app directory with a virtualenv whose gunicorn is a script,
// a WSGI module and env, and returns its configuration.
func app(t *testing.T, env string) launcher.Config {
	t.Helper()
	dir := t.TempDir()
	for path, data := range map[string]string{
		".venv/pyvenv.cfg":        "home = /usr/bin\n",
		".venv/bin/python":        "#!/bin/sh\n",
		".venv/bin/gunicorn":      "#!/bin/sh\n",
		"src/project/__init__.py": "",
		"src/project/wsgi.py":     "",
		".env":                    env,
	} {
		p := filepath.Join(dir, path)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o755))
	}
	return launcher.Config{AppDir: dir, Args: []string{"--workers", "2", "project.wsgi"}}
}

// started is the service running cfg's plan as systemd would have
// started it, before any change; unit, when not nil, sets the unit's
// properties first.
func started(t *testing.T, cfg launcher.Config, unit func(*running.Service)) *Target {
	t.Helper()
	svc := &running.Service{
		Unit:        "shop.service",
		ActiveState: "active",
		ExecReload:  []running.Command{{Path: "/bin/kill", Argv: []string{"/bin/kill", "-HUP", "$MAINPID"}}},
		MainPID:     42,
		Manager:     []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"},
		Environ:     []string{"INVOCATION_ID=abc", "HOME=/srv/shop", "USER=shop", "container=systemd-nspawn"},
		Started:     time.Now().Add(time.Hour), // after every file the test wrote
	}
	if unit != nil {
		unit(svc)
	}
	inherited, err := svc.Inherited()
	require.NoError(t, err)
	plan, err := launcher.Build(cfg, inherited)
	require.NoError(t, err)
	svc.Environ = plan.Environ()
	svc.Cmdline = append([]string{"/usr/bin/python3", plan.Program}, plan.Argv[1:]...)
	return &Target{Service: svc}
}

// planned builds what a start of t's service would run now.
func planned(t *testing.T, tg *Target, cfg launcher.Config) {
	t.Helper()
	inherited, err := tg.Service.Inherited()
	require.NoError(t, err)
	tg.Plan, err = launcher.Build(cfg, inherited)
	require.NoError(t, err)
}

func TestDecide(t *testing.T) {
	cfg := app(t, "SITE_NAME='Shop'\nSECRET_KEY='"+secret+"'\nOLD=1\n")
	defaults := filepath.Join(t.TempDir(), "shop")
	require.NoError(t, os.WriteFile(defaults, []byte("EXTRA=\"from /etc/default\"\n"), 0o600))
	for _, tc := range []struct {
		name    string
		unit    func(*running.Service)                               // the unit the server started with
		change  func(*testing.T, *running.Service, *launcher.Config) // what changed since
		verb    string
		why     string
		restart bool
		daemon  bool
	}{
		{name: "code only", verb: "reload", why: "only code"},
		{name: "not running", change: func(t *testing.T, s *running.Service, _ *launcher.Config) {
			s.ActiveState, s.MainPID = "failed", 0
		}, verb: "start", why: "not running (failed)"},
		{name: "env changed", change: func(t *testing.T, _ *running.Service, c *launcher.Config) {
			writeEnv(t, c, "SITE_NAME='Shop'\nSECRET_KEY='other"+secret+"'\nOLD=1\n")
		}, verb: "restart", why: "SECRET_KEY changed (.env:2)"},
		{name: "env removed", change: func(t *testing.T, _ *running.Service, c *launcher.Config) {
			writeEnv(t, c, "SITE_NAME='Shop'\nSECRET_KEY='"+secret+"'\n")
		}, verb: "restart", why: "OLD removed"},
		{name: "env added", change: func(t *testing.T, _ *running.Service, c *launcher.Config) {
			writeEnv(t, c, "SITE_NAME='Shop'\nSECRET_KEY='"+secret+"'\nOLD=1\nNEW=2\n")
		}, verb: "restart", why: "NEW added (.env:4)"},
		{name: "arguments", change: func(t *testing.T, _ *running.Service, c *launcher.Config) {
			c.Args = []string{"--workers", "3", "project.wsgi"}
		}, verb: "restart", why: "arguments differ"},
		{name: "daemon-reload", change: func(t *testing.T, s *running.Service, _ *launcher.Config) {
			s.NeedDaemonReload = true
		}, verb: "restart", why: "unit file changed", daemon: true},
		{name: "unit newer", change: func(t *testing.T, s *running.Service, _ *launcher.Config) {
			s.FragmentPath = filepath.Join(t.TempDir(), "shop.service")
			require.NoError(t, os.WriteFile(s.FragmentPath, nil, 0o644))
			s.Started = time.Now().Add(-time.Hour)
		}, verb: "restart", why: "unit changed after the server started"},
		{name: "virtualenv rebuilt", change: func(t *testing.T, s *running.Service, c *launcher.Config) {
			s.Started = time.Now().Add(-time.Hour)
		}, verb: "restart", why: "virtualenv was rebuilt"},
		{name: "no ExecReload", change: func(t *testing.T, s *running.Service, _ *launcher.Config) {
			s.ExecReload = nil
		}, verb: "restart", why: "no ExecReload= that sends HUP"},
		{name: "preload_app", change: func(t *testing.T, s *running.Service, c *launcher.Config) {
			c.Args = []string{"--preload", "--workers", "2", "project.wsgi"}
			inherited, err := s.Inherited()
			require.NoError(t, err)
			plan, err := launcher.Build(*c, inherited)
			require.NoError(t, err)
			s.Cmdline = append([]string{"/usr/bin/python3", plan.Program}, plan.Argv[1:]...)
		}, verb: "restart", why: "preload_app is on"},
		{name: "preload_app in gunicorn.conf.py", change: func(t *testing.T, _ *running.Service, c *launcher.Config) {
			require.NoError(t, os.WriteFile(filepath.Join(c.AppDir, "gunicorn.conf.py"), []byte("preload_app = True\n"), 0o644))
			t.Cleanup(func() { os.Remove(filepath.Join(c.AppDir, "gunicorn.conf.py")) })
		}, verb: "restart", why: "preload_app is on"},
		{name: "forced", restart: true, verb: "restart", why: "--restart"},

		// What systemd gives the service, read as values (issue 20): each
		// was a restart, on a reason that was not true, on every deploy.
		{name: "$ and backquote in Environment=", unit: func(s *running.Service) {
			s.Environment = []string{"PRICE=costs $5", "TICK=a`date`b", "PLAIN=1"}
		}, verb: "reload", why: "only code"},
		{name: "manager environment with a space", unit: func(s *running.Service) {
			s.Manager = append(s.Manager, "TZ_NOTE=UTC here")
		}, verb: "reload", why: "only code"},
		{name: "EnvironmentFile= from a drop-in", unit: func(s *running.Service) {
			s.EnvironmentFiles = []running.EnvFile{{Path: defaults}, {Path: defaults + ".missing", Optional: true}}
		}, verb: "reload", why: "only code"},
		{name: "UnsetEnvironment=", unit: func(s *running.Service) {
			s.UnsetEnvironment = []string{"LANG"}
		}, verb: "reload", why: "only code"},
		{name: "PassEnvironment=", unit: func(s *running.Service) {
			s.PassEnvironment = []string{"container"}
		}, verb: "reload", why: "only code"},
		{name: "ExecReload=/bin/kill -s HUP $MAINPID", unit: func(s *running.Service) {
			s.ExecReload = []running.Command{{Path: "/bin/kill", Argv: []string{"/bin/kill", "-s", "HUP", "$MAINPID"}}}
		}, verb: "reload", why: "only code"},
		{name: "ExecReload=/bin/kill -SIGHUP $MAINPID", unit: func(s *running.Service) {
			s.ExecReload = []running.Command{{Path: "/bin/kill", Argv: []string{"/bin/kill", "-SIGHUP", "$MAINPID"}}}
		}, verb: "reload", why: "only code"},
		// What cannot be compared is no reason to restart, and is said.
		{name: "process title", change: func(t *testing.T, s *running.Service, _ *launcher.Config) {
			s.Cmdline = []string{"gunicorn: master [project.wsgi]"}
			s.Environ = []string{"gunicorn: master [project.wsgi]", "", ""}
		}, verb: "reload", why: "cannot compare the server's arguments (the running process has rewritten its command line (a process title)): a reload keeps them; runapp deploy --restart applies a change to them; cannot compare the server's environment (its process title overwrote it"},
		// A true change in what systemd gives is still one.
		{name: "EnvironmentFile= changed", unit: func(s *running.Service) {
			s.EnvironmentFiles = []running.EnvFile{{Path: defaults}}
		}, change: func(t *testing.T, s *running.Service, _ *launcher.Config) {
			require.NoError(t, os.WriteFile(defaults, []byte("EXTRA=other\n"), 0o600))
			t.Cleanup(func() { require.NoError(t, os.WriteFile(defaults, []byte("EXTRA=\"from /etc/default\"\n"), 0o600)) })
		}, verb: "restart", why: "EXTRA changed (inherited)"},
		{name: "set-environment changed", unit: func(s *running.Service) {
			s.Manager = append(s.Manager, "TZ_NOTE=UTC here")
		}, change: func(t *testing.T, s *running.Service, _ *launcher.Config) {
			s.Manager = append(s.Manager, "TZ_NOTE=UTC there")
		}, verb: "restart", why: "TZ_NOTE changed (inherited)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			writeEnv(t, &c, "SITE_NAME='Shop'\nSECRET_KEY='"+secret+"'\nOLD=1\n")
			tg := started(t, c, tc.unit)
			if tc.change != nil {
				tc.change(t, tg.Service, &c)
			}
			planned(t, tg, c)
			act := Decide(Inspect(tg), tc.restart)
			assert.Equal(t, tc.verb, act.Verb)
			assert.Equal(t, tc.daemon, act.DaemonReload)
			why := strings.Join(act.Why, "; ")
			assert.Contains(t, why, tc.why)
			assert.NotContains(t, why, secret)
		})
	}
}

func writeEnv(t *testing.T, c *launcher.Config, env string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(c.AppDir, ".env"), []byte(env), 0o640))
}

// fakeSystemd stands in for systemd's D-Bus API.
type fakeSystemd struct {
	svc    *running.Service
	state  running.State
	listen []string
	deps   map[string]running.Deps // by unit
}

func (f *fakeSystemd) Load(context.Context, string) (*running.Service, error) { return f.svc, nil }
func (f *fakeSystemd) State(context.Context, string) (running.State, error)   { return f.state, nil }
func (f *fakeSystemd) Listen(context.Context, string) ([]string, error)       { return f.listen, nil }
func (f *fakeSystemd) Deps(_ context.Context, unit string) (running.Deps, error) {
	if d, ok := f.deps[unit]; ok {
		return d, nil
	}
	return running.Deps{LoadState: "not-found"}, nil
}
func (f *fakeSystemd) Close() {}

// systemd makes running.Connect return f, and running.Systemctl record
// what it is told, for the test.
func systemd(t *testing.T, f *fakeSystemd) *[]string {
	t.Helper()
	connect, systemctl := running.Connect, running.Systemctl
	t.Cleanup(func() { running.Connect, running.Systemctl = connect, systemctl })
	running.Connect = func(context.Context) (running.Systemd, error) { return f, nil }
	var told []string
	running.Systemctl = func(_ context.Context, args ...string) ([]byte, error) {
		told = append(told, strings.Join(args, " "))
		return nil, nil
	}
	return &told
}

// asConfig is what cmd/runapp gives Options.Config: the app directory of
// --app-dir, the arguments after "--".
func asConfig(argv []string, _ map[string]string) (launcher.Config, bool) {
	var cfg launcher.Config
	for i := 1; i < len(argv); i++ {
		switch argv[i] {
		case "--app-dir":
			i++
			cfg.AppDir = argv[i]
		case "--":
			cfg.Args = argv[i+1:]
			return cfg, true
		}
	}
	return cfg, len(argv) > 0
}

// A check that fails leaves the service untouched: systemd is asked,
// never told.
func TestRunLeavesServiceUntouchedOnError(t *testing.T) {
	cfg := app(t, "DB_PASSWORD=\"a$b\"\n")
	told := systemd(t, &fakeSystemd{svc: &running.Service{
		Unit: "shop.service", ActiveState: "active",
		ExecStart: []running.Command{{Path: "/usr/bin/runapp", Argv: []string{"/usr/bin/runapp", "--app-dir", cfg.AppDir, "--", "project.wsgi"}}},
		Manager:   []string{"PATH=/usr/bin:/bin"},
	}})
	var out bytes.Buffer
	err := Run(context.Background(), Options{Unit: "shop.service", Config: asConfig, Check: check.Options{Unit: "/nonexistent.service"}}, &out)
	require.Error(t, err)
	assert.Equal(t, launcher.ExitConfig, launcher.ExitCode(err))
	assert.Contains(t, err.Error(), "left untouched")
	assert.Contains(t, out.String(), ".env:1")
	assert.Empty(t, *told)
}

// Template instances: the configuration is the one of ExecStart= as
// systemd runs it, its specifiers expanded (--app-dir /srv/%i is
// /srv/dep), and the check judges the user systemd runs it as (User=%i).
func TestLoadInstance(t *testing.T) {
	cfg := app(t, "A=1\n")
	f := &fakeSystemd{svc: &running.Service{
		Unit: "tpl@dep.service", ActiveState: "inactive", User: "dep",
		ExecStart: []running.Command{{Path: "/usr/bin/runapp", Argv: []string{"/usr/bin/runapp", "--app-dir", cfg.AppDir, "--", "project.wsgi"}}},
	}}
	o := Options{Unit: "tpl@dep.service", Config: asConfig}
	tg, err := Load(context.Background(), f, &o)
	require.NoError(t, err)
	assert.Equal(t, cfg.AppDir, o.Check.Config.AppDir)
	assert.Equal(t, "dep", o.Check.User)
	require.NotNil(t, tg.Plan)
	assert.Equal(t, cfg.AppDir, tg.Plan.Dir)

	// A start would fail on a missing EnvironmentFile=: nothing is told.
	f.svc.EnvironmentFiles = []running.EnvFile{{Path: filepath.Join(cfg.AppDir, "missing")}}
	_, err = Load(context.Background(), f, &o)
	assert.Equal(t, launcher.ExitConfig, launcher.ExitCode(err))
	assert.ErrorContains(t, err, "cannot tell the environment a start would give it: EnvironmentFile=")
}

// A negative timeout is refused before systemd is asked anything.
func TestRunRefusesNegativeTimeout(t *testing.T) {
	told := systemd(t, &fakeSystemd{})
	err := Run(context.Background(), Options{Unit: "shop.service", Timeout: -time.Second}, io.Discard)
	assert.Equal(t, launcher.ExitUsage, launcher.ExitCode(err))
	assert.Empty(t, *told)
}

func TestCommands(t *testing.T) {
	assert.Equal(t, [][]string{{"daemon-reload"}, {"restart", "x.service"}}, Action{Verb: "restart", DaemonReload: true}.Commands("x.service"))
	assert.Equal(t, [][]string{{"reload", "x.service"}}, Action{Verb: "reload"}.Commands("x.service"))
}

// proc makes a /proc of the test's own, and returns a function that sets
// the children of process 42.
func proc(t *testing.T) func(pids ...int) {
	root := t.TempDir()
	defer func(r string) { t.Cleanup(func() { running.ProcRoot = r }) }(running.ProcRoot)
	running.ProcRoot = root
	task := filepath.Join(root, "42", "task", "42")
	require.NoError(t, os.MkdirAll(task, 0o755))
	return func(pids ...int) {
		var s []string
		for _, p := range pids {
			s = append(s, strconv.Itoa(p))
		}
		require.NoError(t, os.WriteFile(filepath.Join(task, "children"), []byte(strings.Join(s, " ")+" "), 0o644))
	}
}

func TestFresh(t *testing.T) {
	write := proc(t)
	for _, tc := range []struct {
		now    []int
		n, old int
	}{
		{[]int{1, 2}, 0, 2},
		{[]int{1, 2, 3, 4}, 2, 2}, // new workers up, old ones stopping
		{[]int{3, 4}, 2, 0},
		{[]int{3}, 1, 0},
		{nil, 0, 0}, // the master lost its workers
	} {
		write(tc.now...)
		n, old := fresh(42, []int{1, 2})
		assert.Equal(t, tc.n, n, "%v", tc.now)
		assert.Equal(t, tc.old, old, "%v", tc.now)
	}
}

// A reload while an old worker finishes a long request (gunicorn lets it,
// up to its graceful timeout): the new workers serve, and the deploy is
// done, within a timeout shorter than the request.
func TestWaitOldWorkerFinishing(t *testing.T) {
	write := proc(t)
	write(1, 2)
	addr := serve(t)
	f := &fakeSystemd{state: running.State{ActiveState: "active", MainPID: 42}}
	tg := &Target{Service: &running.Service{Unit: "shop.service", ActiveState: "active", MainPID: 42, TriggeredBy: []string{"shop.socket"}}}
	f.listen = []string{addr}
	w := NewWaiter(context.Background(), f, tg, Action{Verb: "reload"}, "/")
	write(2, 3, 4) // 1 replaced; 2 still has a request to finish
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := w.Wait(ctx)
	require.NoError(t, err)
	assert.Contains(t, res, "2 new workers serve, 1 old one is stopping, and it answers on "+addr)

	// New workers that never come: said as such.
	write(1, 2)
	w = NewWaiter(context.Background(), f, tg, Action{Verb: "reload"}, "/")
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = w.Wait(ctx)
	assert.ErrorContains(t, err, "its workers were not replaced in time: 0 new of the 2 before")
}

// serve answers HTTP requests on a loopback port until the test ends.
func serve(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			switch line {
			case "GET /up HTTP/1.0\r\n":
				_, _ = c.Write([]byte("HTTP/1.0 500 Internal Server Error\r\n\r\n"))
			case "GET /silent HTTP/1.0\r\n":
			default:
				_, _ = c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"))
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// The server answers once a worker does, with the status of the health
// path it was asked for; a listener that accepts and says nothing, or
// nothing listening, is no answer (0).
func TestHealthStatus(t *testing.T) {
	addr := serve(t)
	assert.Equal(t, 400, healthStatus(context.Background(), "tcp", addr, "/"))
	assert.Equal(t, 500, healthStatus(context.Background(), "tcp", addr, "/up"))
	assert.Equal(t, 0, healthStatus(context.Background(), "tcp", addr, "/silent"))
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gone := closed.Addr().String()
	closed.Close()
	assert.Equal(t, 0, healthStatus(context.Background(), "tcp", gone, "/"))
}

// A server that answers the health path with a 5xx for longer than
// failing is unhealthy: the deploy fails, where any answer did before.
func TestWaitUnhealthy(t *testing.T) {
	addr := serve(t)
	f := &fakeSystemd{state: running.State{ActiveState: "active", MainPID: 42}, listen: []string{addr}}
	tg := &Target{Service: &running.Service{Unit: "shop.service", ActiveState: "active", MainPID: 42, TriggeredBy: []string{"shop.socket"}}}
	w := NewWaiter(context.Background(), f, tg, Action{Verb: "restart"}, "/up")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := w.Wait(ctx)
	var sick *Unhealthy
	require.ErrorAs(t, err, &sick)
	assert.Equal(t, &Unhealthy{Path: "/up", Status: 500}, sick)

	// A 4xx is an answer.
	w = NewWaiter(context.Background(), f, tg, Action{Verb: "restart"}, "/")
	res, err := w.Wait(ctx)
	require.NoError(t, err)
	assert.Contains(t, res, "it answers on "+addr)
}

func TestDialable(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8093": "tcp 127.0.0.1:8093",
		"0.0.0.0:80":     "tcp 127.0.0.1:80",
		"[::]:80":        "tcp [::1]:80",
		"[::1]:8000":     "tcp [::1]:8000",
		"8000":           "tcp 127.0.0.1:8000",
		"/run/shop.sock": "unix /run/shop.sock",
	} {
		network, addr := dialable(in)
		assert.Equal(t, want, network+" "+addr, in)
	}
}

// A service that does not come back: its state, status text and journal.
func TestFailed(t *testing.T) {
	f := &fakeSystemd{state: running.State{ActiveState: "activating", SubState: "auto-restart", Result: "exit-code", NRestarts: 2, StatusText: "runapp: .env:3: refused"}}
	defer func(f func(context.Context, ...string) ([]byte, error)) { Journal = f }(Journal)
	var asked [][]string
	Journal = func(_ context.Context, args ...string) ([]byte, error) {
		asked = append(asked, args)
		if slices.Contains(args, "err") {
			return nil, nil // nothing at priority err: the last lines instead
		}
		return []byte("[ERROR] Worker failed to boot.\n  File \"x.py\", line 1\n    import nope\nModuleNotFoundError: No module named 'nope'\n"), nil
	}
	err := failed(context.Background(), f, "shop.service", time.Now(), "", errors.New("systemctl restart shop.service: job failed"))
	require.Error(t, err)
	for _, want := range []string{"shop.service did not come back", "job failed",
		"shop.service is now activating (auto-restart, result exit-code, restarted by systemd 2 times)",
		"status: runapp: .env:3: refused", "journal since the deploy (its last lines, traceback frames left out):\n  [ERROR] Worker failed to boot.\n  ModuleNotFoundError"} {
		assert.Contains(t, err.Error(), want)
	}
	require.Len(t, asked, 3)
	assert.Equal(t, []string{"--sync"}, asked[0])
	assert.Contains(t, asked[1], "-u")
	assert.Contains(t, asked[2], "-n")

	asked = nil
	err = failed(context.Background(), f, "shop.service", time.Now(), "abc123", errors.New("the server's main process 7 exited"))
	assert.Contains(t, err.Error(), "journal of the run that failed (its last lines, traceback frames left out):")
	assert.Contains(t, asked[1], "_SYSTEMD_INVOCATION_ID=abc123")
}

// A second deploy of a unit waits for the first, says so, and gives up
// when its time is up; it takes the lock once the first lets go, or dies.
func TestLock(t *testing.T) {
	LockDir = t.TempDir()
	var said []string
	say := func(f string, a ...any) { said = append(said, fmt.Sprintf(f, a...)) }
	unlock, err := lock(context.Background(), "shop.service", say)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = lock(ctx, "shop.service", say)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "another deploy of shop.service held")
	require.Len(t, said, 1)
	assert.Contains(t, said[0], fmt.Sprintf("another deploy (pid %d) of shop.service is running; waiting", os.Getpid()))
	other, err := lock(context.Background(), "other.service", say)
	require.NoError(t, err, "another unit's deploy does not wait")
	other()
	go func() { time.Sleep(200 * time.Millisecond); unlock() }()
	again, err := lock(context.Background(), "shop.service", say)
	require.NoError(t, err)
	again()
}

// What a switch of each server costs its clients, as the table says.
func TestStopNotes(t *testing.T) {
	for _, tc := range []struct {
		argv  string
		notes []string
	}{
		{"gunicorn --workers 2 project.wsgi", nil},
		{"gunicorn --graceful-timeout 0 project.wsgi", []string{"gunicorn stops with no graceful time"}},
		{"gunicorn -k uvicorn.workers.UvicornWorker project.asgi:application", []string{"gunicorn's graceful stop closes, unanswered,"}},
		{"uvicorn --fd 3 api:app", []string{"uvicorn's graceful stop closes, unanswered,"}},
		{"hypercorn --bind fd://3 api:app", nil},
		{"daphne --fd 3 project.asgi:application", []string{"daphne stops with no graceful time: the requests in flight when it stops fail"}},
		{"python manage.py runworker", nil},
	} {
		t.Run(tc.argv, func(t *testing.T) {
			got := stopNotes("", strings.Fields(tc.argv))
			require.Len(t, got, len(tc.notes), "%q", got)
			for i, n := range tc.notes {
				assert.True(t, strings.HasPrefix(got[i], n), "%q", got[i])
			}
		})
	}
}
