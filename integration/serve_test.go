package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/internal/testenv"
)

// appVenv gives app its own virtualenv in .venv, as `make demo` does, so
// that runapp finds it without --venv.
func appVenv(t *testing.T, app string) string {
	t.Helper()
	needVenv(t)
	venv, err := mkvenv(filepath.Join(app, ".venv"))
	require.NoError(t, err)
	return venv
}

// envValues reads an env file the way runapp does.
func envValues(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := envfile.Read(path)
	require.NoError(t, err)
	values := map[string]string{}
	for _, e := range f.Entries {
		values[e.Name] = e.Value
	}
	return values
}

// gunicornArgs binds gunicorn through its environment rather than its
// arguments: with no arguments runapp finds project.wsgi itself.
func gunicornArgs(addr string, workers int) string {
	return fmt.Sprintf("GUNICORN_CMD_ARGS=--bind %s --workers %d", addr, workers)
}

// TestServe serves the example app as `make demo` does and checks what the
// app received and that gunicorn took runapp's place.
func TestServe(t *testing.T) {
	bin := needRunapp(t)
	app := newApp(t)
	venv := appVenv(t, app)
	addr := freeAddr(t)
	env := baseEnv(gunicornArgs(addr, 2),
		"PYTHONPATH=/opt/inherited/lib", // kept, after the app's src
		"SITE_NAME=inherited",           // .env wins, as with set -a; source
	)
	p := start(t, t.TempDir(), env, bin, "--app-dir", app)
	got := p.index(t, addr)

	want := envValues(t, filepath.Join(app, ".env"))
	for name, value := range got.Env {
		if assert.NotNil(t, value, name) {
			assert.Equal(t, want[name], *value, name)
		}
	}
	sum := sha256.Sum256([]byte(want["SECRET_KEY"]))
	assert.Equal(t, hex.EncodeToString(sum[:]), got.SecretKeySHA256, "SECRET_KEY")
	assert.Equal(t, venv, got.VirtualEnv)
	assert.Equal(t, venv, got.SysPrefix)
	assert.True(t, strings.HasPrefix(got.Path, venv+"/bin:"), "PATH %s", got.Path)
	src := filepath.Join(app, "src")
	assert.Equal(t, src+":/opt/inherited/lib", got.PythonPath)
	assert.Contains(t, got.SysPath, src)
	assert.NotContains(t, got.SysPath, "", "an empty sys.path entry is the working directory")
	assert.Equal(t, app, got.Cwd)

	// exec: the process the test started is gunicorn's master, with its
	// workers as its only children.
	assert.Equal(t, p.pid, got.PPID, "the worker's parent is the process runapp was")
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.pid))
	require.NoError(t, err)
	assert.Contains(t, filepath.Base(exe), "python")
	assert.Contains(t, p.log.String(), fmt.Sprintf("Listening at: http://%s (%d)", addr, p.pid))
	workers := waitChildren(t, p.pid, "2 workers", func(k []int) bool { return len(k) == 2 })
	assert.Contains(t, workers, got.PID)

	p.signal(t, unix.SIGTERM)
	assert.Equal(t, 0, p.wait(t, bootTimeout))
}

// TestStop stops gunicorn with each stop signal while a request is in
// flight: TERM lets it finish, QUIT and INT do not wait.
func TestStop(t *testing.T) {
	bin := needRunapp(t)
	venv := needVenv(t)
	const sleep = 3 * time.Second
	for _, tc := range []struct {
		name     string
		sig      unix.Signal
		graceful bool
	}{
		{"TERM", unix.SIGTERM, true},
		{"QUIT", unix.SIGQUIT, false},
		{"INT", unix.SIGINT, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := freeAddr(t)
			p := start(t, t.TempDir(), baseEnv(gunicornArgs(addr, 1)), bin, "--app-dir", newApp(t), "--venv", venv)
			p.waitHTTP(t, "http://"+addr+"/pid")

			type result struct {
				status int
				err    error
			}
			done := make(chan result, 1)
			go func() {
				status, _, err := get(fmt.Sprintf("http://%s/slow?s=%g", addr, sleep.Seconds()))
				done <- result{status, err}
			}()
			p.log.waitCount(t, "slow: worker", 1, bootTimeout)
			sent := time.Now()
			p.signal(t, tc.sig)
			code := p.wait(t, bootTimeout)
			stopped := time.Since(sent)
			res := <-done

			assert.Equal(t, 0, code, "exit code")
			if tc.graceful {
				assert.NoError(t, res.err)
				assert.Equal(t, http.StatusOK, res.status)
				t.Logf("%s: stopped %v after the signal, once the %v request had its answer", tc.name, stopped.Round(time.Millisecond), sleep)
			} else {
				assert.False(t, res.err == nil && res.status == http.StatusOK, "the request in flight completed")
				assert.Less(t, stopped, sleep, "waited for the request")
				t.Logf("%s: stopped %v after the signal", tc.name, stopped.Round(time.Millisecond))
			}
		})
	}
}

// TestReload: HUP replaces every worker under the same master, TTIN and
// TTOU add and remove one.
func TestReload(t *testing.T) {
	bin := needRunapp(t)
	venv := needVenv(t)
	addr := freeAddr(t)
	p := start(t, t.TempDir(), baseEnv(gunicornArgs(addr, 2)), bin, "--app-dir", newApp(t), "--venv", venv)
	p.waitHTTP(t, "http://"+addr+"/pid")
	old := waitChildren(t, p.pid, "2 workers", func(k []int) bool { return len(k) == 2 })

	p.signal(t, unix.SIGHUP)
	waitChildren(t, p.pid, "2 new workers", func(k []int) bool {
		return len(k) == 2 && !slices.ContainsFunc(k, func(pid int) bool { return slices.Contains(old, pid) })
	})
	assert.Equal(t, p.pid, p.index(t, addr).PPID, "master after HUP")

	for _, step := range []struct {
		sig     unix.Signal
		workers int
	}{
		{unix.SIGTTIN, 3},
		{unix.SIGTTOU, 2},
		{unix.SIGTTOU, 1},
	} {
		p.signal(t, step.sig)
		waitChildren(t, p.pid, fmt.Sprintf("%d workers after %v", step.workers, step.sig),
			func(k []int) bool { return len(k) == step.workers })
	}
	assert.False(t, p.exited())

	p.signal(t, unix.SIGQUIT)
	assert.Equal(t, 0, p.wait(t, bootTimeout))
}

// runScript is the seed's bash run script, for this app and virtualenv.
func runScript(app, venv string) string {
	return fmt.Sprintf(`#! /bin/bash

set -a
source .env
set +a

export PYTHONPATH="%s/src:$PYTHONPATH"
export VIRTUAL_ENV="%s"

exec $VIRTUAL_ENV/bin/gunicorn project.wsgi
`, app, venv)
}

// TestSignalDisposition starts the seed's bash run script and runapp the
// same way, with a signal blocked and two ignored, and compares what
// gunicorn's master ends up with: runapp must change nothing the script
// does not.
func TestSignalDisposition(t *testing.T) {
	bin := needRunapp(t)
	venv := needVenv(t)
	bash := testenv.LookPath(t, "bash")
	self, err := os.Executable()
	require.NoError(t, err)

	status := map[string]map[string]string{}
	values := map[string]index{}
	for _, tc := range []struct {
		name string
		argv func(app string) []string
	}{
		{"bash", func(app string) []string {
			writeFile(t, filepath.Join(app, "run"), runScript(app, venv), 0o755)
			return []string{bash, filepath.Join(app, "run")}
		}},
		{"runapp", func(app string) []string {
			return []string{bin, "--app-dir", app, "--venv", venv}
		}},
	} {
		app := newApp(t)
		addr := freeAddr(t)
		argv := append([]string{self}, tc.argv(app)...)
		p := start(t, app, baseEnv(starterEnv+"=1", gunicornArgs(addr, 1)), argv...)
		values[tc.name] = p.index(t, addr)
		status[tc.name] = procStatus(t, p.pid)
		require.Equal(t, p.pid, values[tc.name].PPID, "%s: gunicorn runs as the started process", tc.name)
		p.signal(t, unix.SIGTERM)
		require.Equal(t, 0, p.wait(t, bootTimeout))
	}

	// The starter's blocked SIGUSR2 and ignored SIGHUP reach gunicorn through
	// bash: otherwise this test would compare nothing.
	var blk, ign uint64
	_, err = fmt.Sscanf(status["bash"]["SigBlk"]+" "+status["bash"]["SigIgn"], "%x %x", &blk, &ign)
	require.NoError(t, err)
	require.NotZero(t, blk&(1<<(unix.SIGUSR2-1)), "SIGUSR2 blocked under bash")
	for _, field := range []string{"SigBlk", "SigIgn", "SigCgt"} {
		assert.Equal(t, status["bash"][field], status["runapp"][field], field)
	}
	t.Logf("bash and runapp: SigBlk %s SigIgn %s", status["runapp"]["SigBlk"], status["runapp"]["SigIgn"])
	assert.Equal(t, values["bash"].Env, values["runapp"].Env, "values from .env")
	assert.Equal(t, values["bash"].SecretKeySHA256, values["runapp"].SecretKeySHA256)
}

// TestSocketActivation starts runapp as systemd would for a .socket unit:
// gunicorn must serve on the inherited socket, not bind its own.
func TestSocketActivation(t *testing.T) {
	bin := needRunapp(t)
	venv := needVenv(t)
	activate := testenv.LookPath(t, "systemd-socket-activate")
	addr := freeAddr(t)
	// No --bind: gunicorn would listen on its default 127.0.0.1:8000 if it
	// ignored LISTEN_FDS.
	p := start(t, t.TempDir(), baseEnv(), activate, "-l", addr, bin, "--app-dir", newApp(t), "--venv", venv)
	p.log.waitCount(t, "Listening on "+addr, 1, bootTimeout)

	// systemd-socket-activate execs runapp on the first connection, which
	// waits in the socket's backlog until gunicorn accepts it.
	status, body, err := get("http://" + addr + "/pid")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, children(t, p.pid), atoi(t, strings.TrimSpace(string(body))))
	// Given no --bind, gunicorn can only listen there on the inherited
	// socket: binding the address itself would fail while that one is open.
	assert.Contains(t, p.log.String(), fmt.Sprintf("Listening at: http://%s (%d)", addr, p.pid))

	p.signal(t, unix.SIGTERM)
	assert.Equal(t, 0, p.wait(t, bootTimeout))
}

// TestNotifyReady: gunicorn's READY=1 reaches NOTIFY_SOCKET from the PID
// systemd started, which Type=notify requires.
func TestNotifyReady(t *testing.T) {
	bin := needRunapp(t)
	venv := needVenv(t)
	sock := newNotifySocket(t)
	addr := freeAddr(t)
	started := time.Now()
	p := start(t, t.TempDir(), baseEnv(gunicornArgs(addr, 1), "NOTIFY_SOCKET="+sock.path),
		bin, "--app-dir", newApp(t), "--venv", venv)
	for {
		n, ok := sock.receive(t, bootTimeout)
		require.True(t, ok, "no READY=1 within %v; output:\n%s", bootTimeout, p.log)
		assert.Equal(t, p.pid, n.pid, "sender of %q", n.msg)
		if slices.Contains(strings.Split(n.msg, "\n"), "READY=1") {
			t.Logf("READY=1 %v after start", time.Since(started).Round(time.Millisecond))
			break
		}
	}
	p.waitHTTP(t, "http://"+addr+"/pid")
	p.signal(t, unix.SIGTERM)
	assert.Equal(t, 0, p.wait(t, bootTimeout))
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	_, err := fmt.Sscanf(s, "%d", &n)
	require.NoError(t, err, "%q", s)
	return n
}
