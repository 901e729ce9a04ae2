package deploy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
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
// started it, before any change.
func started(t *testing.T, cfg launcher.Config) *running.Service {
	t.Helper()
	svc := &running.Service{
		Unit: "shop.service",
		Props: map[string]string{
			"ActiveState": "active", "NeedDaemonReload": "no",
			"ExecReload": "{ path=/bin/kill ; argv[]=/bin/kill -HUP $MAINPID ; ignore_errors=no }",
		},
		MainPID: 42,
		Manager: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"},
		Started: time.Now().Add(time.Hour), // after every file the test wrote
	}
	inherited := append(svc.Manager, "INVOCATION_ID=abc", "HOME=/srv/shop", "USER=shop")
	plan, err := launcher.Build(cfg, inherited)
	require.NoError(t, err)
	svc.Environ = plan.Environ()
	svc.Cmdline = append([]string{"/usr/bin/python3", plan.Program}, plan.Argv[1:]...)
	return svc
}

func TestDecide(t *testing.T) {
	cfg := app(t, "SITE_NAME='Shop'\nSECRET_KEY='"+secret+"'\nOLD=1\n")
	for _, tc := range []struct {
		name    string
		change  func(*running.Service, *launcher.Config)
		verb    string
		why     string
		restart bool
		daemon  bool
	}{
		{name: "code only", change: func(*running.Service, *launcher.Config) {}, verb: "reload", why: "only code"},
		{name: "not running", change: func(s *running.Service, _ *launcher.Config) {
			s.Props["ActiveState"], s.MainPID = "failed", 0
		}, verb: "start", why: "not running (failed)"},
		{name: "env changed", change: func(_ *running.Service, c *launcher.Config) {
			writeEnv(t, c, "SITE_NAME='Shop'\nSECRET_KEY='other"+secret+"'\nOLD=1\n")
		}, verb: "restart", why: "SECRET_KEY changed (.env:2)"},
		{name: "env removed", change: func(_ *running.Service, c *launcher.Config) {
			writeEnv(t, c, "SITE_NAME='Shop'\nSECRET_KEY='"+secret+"'\n")
		}, verb: "restart", why: "OLD removed"},
		{name: "env added", change: func(_ *running.Service, c *launcher.Config) {
			writeEnv(t, c, "SITE_NAME='Shop'\nSECRET_KEY='"+secret+"'\nOLD=1\nNEW=2\n")
		}, verb: "restart", why: "NEW added (.env:4)"},
		{name: "arguments", change: func(_ *running.Service, c *launcher.Config) {
			c.Args = []string{"--workers", "3", "project.wsgi"}
		}, verb: "restart", why: "arguments differ"},
		{name: "daemon-reload", change: func(s *running.Service, _ *launcher.Config) {
			s.Props["NeedDaemonReload"] = "yes"
		}, verb: "restart", why: "unit file changed", daemon: true},
		{name: "unit newer", change: func(s *running.Service, _ *launcher.Config) {
			s.Props["FragmentPath"] = filepath.Join(t.TempDir(), "shop.service")
			require.NoError(t, os.WriteFile(s.Props["FragmentPath"], nil, 0o644))
			s.Started = time.Now().Add(-time.Hour)
		}, verb: "restart", why: "unit changed after the server started"},
		{name: "virtualenv rebuilt", change: func(s *running.Service, c *launcher.Config) {
			s.Started = time.Now().Add(-time.Hour)
		}, verb: "restart", why: "virtualenv was rebuilt"},
		{name: "no ExecReload", change: func(s *running.Service, _ *launcher.Config) {
			delete(s.Props, "ExecReload")
		}, verb: "restart", why: "no ExecReload="},
		{name: "preload_app", change: func(s *running.Service, c *launcher.Config) {
			c.Args = []string{"--preload", "--workers", "2", "project.wsgi"}
			plan, err := launcher.Build(*c, s.Inherited())
			require.NoError(t, err)
			s.Cmdline = append([]string{"/usr/bin/python3", plan.Program}, plan.Argv[1:]...)
		}, verb: "restart", why: "preload_app is on"},
		{name: "preload_app in gunicorn.conf.py", change: func(_ *running.Service, c *launcher.Config) {
			require.NoError(t, os.WriteFile(filepath.Join(c.AppDir, "gunicorn.conf.py"), []byte("preload_app = True\n"), 0o644))
			t.Cleanup(func() { os.Remove(filepath.Join(c.AppDir, "gunicorn.conf.py")) })
		}, verb: "restart", why: "preload_app is on"},
		{name: "forced", change: func(*running.Service, *launcher.Config) {}, restart: true, verb: "restart", why: "--restart"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			writeEnv(t, &c, "SITE_NAME='Shop'\nSECRET_KEY='"+secret+"'\nOLD=1\n")
			svc := started(t, c)
			tc.change(svc, &c)
			act, err := Decide(svc, c, tc.restart)
			require.NoError(t, err)
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

// A check that fails leaves the service untouched: systemctl is asked,
// never told.
func TestRunLeavesServiceUntouchedOnError(t *testing.T) {
	cfg := app(t, "DB_PASSWORD=\"a$b\"\n")
	var calls []string
	defer func(f func(context.Context, ...string) ([]byte, error)) { running.Systemctl = f }(running.Systemctl)
	running.Systemctl = func(_ context.Context, args ...string) ([]byte, error) {
		calls = append(calls, strings.Join(args, " "))
		switch args[0] {
		case "show":
			return []byte("LoadState=loaded\nActiveState=active\nMainPID=0\n"), nil
		case "show-environment":
			return []byte("PATH=/usr/bin:/bin\n"), nil
		}
		t.Errorf("systemctl %v", args)
		return nil, nil
	}
	var out bytes.Buffer
	err := Run(context.Background(), Options{Unit: "shop.service", Check: check.Options{Config: cfg, Unit: "/nonexistent.service"}}, &out)
	require.Error(t, err)
	assert.Equal(t, launcher.ExitConfig, launcher.ExitCode(err))
	assert.Contains(t, err.Error(), "left untouched")
	assert.Contains(t, out.String(), ".env:1")
	for _, c := range calls {
		assert.True(t, strings.HasPrefix(c, "show"), c)
	}
}

func TestCommands(t *testing.T) {
	assert.Equal(t, [][]string{{"daemon-reload"}, {"restart", "x.service"}}, Action{Verb: "restart", DaemonReload: true}.commands("x.service"))
	assert.Equal(t, [][]string{{"reload", "x.service"}}, Action{Verb: "reload"}.commands("x.service"))
}

func TestFresh(t *testing.T) {
	root := t.TempDir()
	defer func(r string) { running.ProcRoot = r }(running.ProcRoot)
	running.ProcRoot = root
	task := filepath.Join(root, "42", "task", "42")
	require.NoError(t, os.MkdirAll(task, 0o755))
	write := func(pids ...int) {
		var s []string
		for _, p := range pids {
			s = append(s, strconv.Itoa(p))
		}
		require.NoError(t, os.WriteFile(filepath.Join(task, "children"), []byte(strings.Join(s, " ")+" "), 0o644))
	}
	for _, tc := range []struct {
		now      []int
		n        int
		replaced bool
	}{
		{[]int{1, 2}, 0, false},
		{[]int{1, 2, 3, 4}, 2, false}, // new workers up, old ones stopping
		{[]int{3, 4}, 2, true},
		{[]int{3}, 1, false},
		{nil, 0, false}, // the master lost its workers
	} {
		write(tc.now...)
		n, replaced := fresh(42, []int{1, 2})
		assert.Equal(t, tc.n, n, "%v", tc.now)
		assert.Equal(t, tc.replaced, replaced, "%v", tc.now)
	}
}

// The server answers once a worker does, with the status of the health
// path it was asked for; a listener that accepts and says nothing, or
// nothing listening, is no answer (0).
func TestHealthStatus(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
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
	assert.Equal(t, 400, healthStatus(context.Background(), "tcp", ln.Addr().String(), "/"))
	assert.Equal(t, 500, healthStatus(context.Background(), "tcp", ln.Addr().String(), "/up"))
	assert.Equal(t, 0, healthStatus(context.Background(), "tcp", ln.Addr().String(), "/silent"))
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := closed.Addr().String()
	closed.Close()
	assert.Equal(t, 0, healthStatus(context.Background(), "tcp", addr, "/"))
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
	defer func(f func(context.Context, ...string) ([]byte, error)) { running.Systemctl = f }(running.Systemctl)
	running.Systemctl = func(context.Context, ...string) ([]byte, error) {
		return []byte("ActiveState=activating\nSubState=auto-restart\nResult=exit-code\nNRestarts=2\nStatusText=runapp: .env:3: refused\n"), nil
	}
	defer func(f func(context.Context, ...string) ([]byte, error)) { Journal = f }(Journal)
	var asked [][]string
	Journal = func(_ context.Context, args ...string) ([]byte, error) {
		asked = append(asked, args)
		if slices.Contains(args, "err") {
			return nil, nil // nothing at priority err: the last lines instead
		}
		return []byte("[ERROR] Worker failed to boot.\n  File \"x.py\", line 1\n    import nope\nModuleNotFoundError: No module named 'nope'\n"), nil
	}
	err := failed(context.Background(), "shop.service", time.Now(), "", errors.New("systemctl restart shop.service: job failed"))
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
	err = failed(context.Background(), "shop.service", time.Now(), "abc123", errors.New("the server's main process 7 exited"))
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
