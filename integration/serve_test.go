package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

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

	assertEnv(t, envValues(t, filepath.Join(app, ".env")), got)
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
	workers := p.waitChildren(t, "2 workers", func(k []int) bool { return len(k) == 2 })
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
	old := p.waitChildren(t, "2 workers", func(k []int) bool { return len(k) == 2 })

	p.signal(t, unix.SIGHUP)
	p.waitChildren(t, "2 new workers", func(k []int) bool {
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
		p.waitChildren(t, fmt.Sprintf("%d workers after %v", step.workers, step.sig),
			func(k []int) bool { return len(k) == step.workers })
	}
	assert.False(t, p.exited())

	p.signal(t, unix.SIGQUIT)
	assert.Equal(t, 0, p.wait(t, bootTimeout))
}

// runScript is the seed's bash run script for this app and virtualenv,
// ending with exec of command (the seed's is gunicorn project.wsgi).
func runScript(app, venv, command string) string {
	return fmt.Sprintf(`#! /bin/bash

set -a
source .env
set +a

export PYTHONPATH="%s/src:$PYTHONPATH"
export VIRTUAL_ENV="%s"

exec %s
`, app, venv, command)
}

// TestSignalDisposition starts the seed's bash run script and runapp the
// same way, with signals blocked and ignored as a service manager may leave
// them and a soft open-file limit below the hard one (systemd gives services
// 1024 and 524288), and compares what the exec'd program ends up with:
// runapp must change nothing that exec in bash does not. gunicorn is
// compared, and sleep too, since Python re-ignores SIGPIPE itself and would
// hide a runapp that lost it. runapp runs as built for this machine and, on
// a machine that is not arm64, as built for arm64 under qemu-user, where
// internal/startsig has its own assembly.
func TestSignalDisposition(t *testing.T) {
	bin := needRunapp(t)
	venv := needVenv(t)
	bash := testenv.LookPath(t, "bash")
	sleep := testenv.LookPath(t, "sleep")
	self, err := os.Executable()
	require.NoError(t, err)

	// runapps name the command lines that run runapp: this machine's build,
	// and arm64's under qemu-user (made on first use: it may skip).
	runapps := []struct {
		name string
		cmd  func(t *testing.T) []string
	}{{runtime.GOARCH, func(*testing.T) []string { return []string{bin} }}}
	if runtime.GOARCH != "arm64" {
		runapps = append(runapps, struct {
			name string
			cmd  func(t *testing.T) []string
		}{"arm64-qemu", func(t *testing.T) []string { return needRunappArm64(t) }})
	}

	for _, program := range []struct {
		name     string
		script   string   // what the bash run script execs
		runapp   []string // runapp's arguments after --app-dir APP --venv VENV
		gunicorn bool
	}{
		{"gunicorn", "$VIRTUAL_ENV/bin/gunicorn project.wsgi", nil, true},
		{"sleep", sleep + " 600", []string{"exec", "--", sleep, "600"}, false},
	} {
		// launch starts the program through the bash run script (runapp
		// nil) or through runapp, and returns its /proc status with the
		// soft open-file limit, and gunicorn's answer.
		launch := func(t *testing.T, runapp []string) (map[string]string, index) {
			app := newApp(t)
			addr := freeAddr(t)
			argv := []string{self, bash, filepath.Join(app, "run")}
			writeFile(t, argv[2], runScript(app, venv, program.script), 0o755)
			if runapp != nil {
				argv = append([]string{self}, runapp...)
				if program.runapp != nil {
					argv = append(argv, program.runapp[0])
				}
				argv = append(argv, "--app-dir", app, "--venv", venv)
				if program.runapp != nil {
					argv = append(argv, program.runapp[1:]...)
				}
			}
			p := start(t, app, baseEnv(starterEnv+"=1", gunicornArgs(addr, 1)), argv...)
			var values index
			if program.gunicorn {
				values = p.index(t, addr)
				require.Equal(t, p.pid, values.PPID, "%s: gunicorn runs as the started process", argv[1])
			} else {
				p.waitComm(t, "sleep")
			}
			status := procStatus(t, p.pid)
			status["Max open files"] = openFiles(t, p.pid)
			p.signal(t, unix.SIGTERM)
			p.wait(t, bootTimeout)
			return status, values
		}

		t.Run(program.name, func(t *testing.T) {
			status, values := launch(t, nil)
			// The starter's state reaches the program through bash:
			// otherwise this test would compare nothing.
			var blk, ign uint64
			_, err = fmt.Sscanf(status["SigBlk"]+" "+status["SigIgn"], "%x %x", &blk, &ign)
			require.NoError(t, err)
			require.Equal(t, starterBlocked, blk&starterBlocked, "blocked under bash")
			if !program.gunicorn { // gunicorn handles SIGHUP
				require.Equal(t, starterIgnored, ign&starterIgnored, "ignored under bash")
			}
			require.Equal(t, strconv.Itoa(starterNofile), status["Max open files"], "soft open-file limit under bash")

			for _, r := range runapps {
				t.Run(r.name, func(t *testing.T) {
					got, gotValues := launch(t, r.cmd(t))
					for _, field := range []string{"SigBlk", "SigIgn", "SigCgt", "Max open files"} {
						assert.Equal(t, status[field], got[field], field)
					}
					t.Logf("bash and runapp: SigBlk %s SigIgn %s, soft open-file limit %s", got["SigBlk"], got["SigIgn"], got["Max open files"])
					if program.gunicorn {
						assert.Equal(t, values.Env, gotValues.Env, "values from .env")
						assert.Equal(t, values.SecretKeySHA256, gotValues.SecretKeySHA256)
					}
				})
			}
		})
	}
}

// openFiles returns the soft open-file limit of a process, from
// /proc/PID/limits.
func openFiles(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			return strings.Fields(rest)[0]
		}
	}
	t.Fatalf("no open-file limit in /proc/%d/limits:\n%s", pid, data)
	return ""
}

// waitComm waits until the process has exec'd the program called comm.
func (p *proc) waitComm(t *testing.T, comm string) {
	t.Helper()
	var have string
	p.waitFor(t, "comm "+comm, func() bool {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.pid))
		have = strings.TrimSpace(string(data))
		return have == comm
	}, func() string { return "comm " + have })
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
	worker, err := strconv.Atoi(strings.TrimSpace(string(body)))
	require.NoError(t, err, "/pid answered %q", body)
	assert.Contains(t, children(p.pid), worker)
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
	p := start(t, t.TempDir(), baseEnv(gunicornArgs(addr, 1), "NOTIFY_SOCKET="+sock.Addr),
		bin, "--app-dir", newApp(t), "--venv", venv)
	for {
		n, ok := sock.Receive(t, bootTimeout)
		require.True(t, ok, "no READY=1 within %v; output:\n%s", bootTimeout, p.log)
		assert.Equal(t, p.pid, n.PID, "sender of %q", n.Msg)
		if slices.Contains(strings.Split(n.Msg, "\n"), "READY=1") {
			t.Logf("READY=1 %v after start", time.Since(started).Round(time.Millisecond))
			break
		}
	}
	p.waitHTTP(t, "http://"+addr+"/pid")
	p.signal(t, unix.SIGTERM)
	assert.Equal(t, 0, p.wait(t, bootTimeout))
}
