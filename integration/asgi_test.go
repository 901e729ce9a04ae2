package integration

// The facts runapp's server table holds about each ASGI server (issue 13),
// each shown here against the real server from Debian's packages: uvicorn
// 0.17, hypercorn 0.13, daphne 4.0, and gunicorn 20.1 with uvicorn's worker
// class. Each test starts the server through runapp from a real virtualenv,
// on loopback only, and is bounded in time.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/internal/testenv"
	"github.com/runapp/runapp/server"
)

// asgiApp is the example Django project's ASGI application.
const asgiApp = "project.asgi:application"

// asgiServer says how these tests start one server.
type asgiServer struct {
	name string // as given to --server
	// bind returns the arguments that make it listen on addr (host:port)
	// or, with unix true, on the unix socket at addr.
	bind func(addr string, unix bool) []string
	// fd3 are the arguments that make it serve on the socket systemd passes
	// as fd 3 (the first of LISTEN_FDS), with nothing else to bind.
	fd3 []string
	// supervisor: the process runapp became runs the app in its children
	// (gunicorn's master), not itself.
	supervisor bool
}

// args is runapp's command line for s on addr, extra server options first.
func (s asgiServer) args(venv, app, addr string, unixSock bool, extra ...string) []string {
	argv := []string{"--app-dir", app, "--venv", venv, "--server", s.name, "--"}
	argv = append(argv, extra...)
	argv = append(argv, s.bind(addr, unixSock)...)
	return append(argv, asgiApp)
}

var (
	uvicorn = asgiServer{
		name: "uvicorn",
		bind: func(addr string, unixSock bool) []string {
			if unixSock {
				return []string{"--uds", addr}
			}
			host, port, _ := net.SplitHostPort(addr)
			return []string{"--host", host, "--port", port}
		},
		fd3: []string{"--fd", "3"},
	}
	hypercorn = asgiServer{
		name: "hypercorn",
		bind: func(addr string, unixSock bool) []string {
			if unixSock {
				return []string{"--bind", "unix:" + addr}
			}
			return []string{"--bind", addr}
		},
		fd3: []string{"--bind", "fd://3"},
	}
	daphne = asgiServer{
		name: "daphne",
		bind: func(addr string, unixSock bool) []string {
			if unixSock {
				return []string{"-u", addr}
			}
			host, port, _ := net.SplitHostPort(addr)
			return []string{"-b", host, "-p", port}
		},
		fd3: []string{"--fd", "3"},
	}
	// gunicornUvicorn is gunicorn's master with uvicorn's worker class: one
	// worker, so that the tests know which process serves.
	gunicornUvicorn = asgiServer{
		name: "gunicorn",
		bind: func(addr string, unixSock bool) []string {
			if unixSock {
				addr = "unix:" + addr
			}
			return []string{"-k", "uvicorn.workers.UvicornWorker", "--workers", "1", "--bind", addr}
		},
		fd3:        []string{"-k", "uvicorn.workers.UvicornWorker", "--workers", "1"},
		supervisor: true,
	}
	asgiServers = []asgiServer{uvicorn, hypercorn, daphne, gunicornUvicorn}
)

// label names the server in subtests: gunicorn is gunicorn+uvicorn here.
func (s asgiServer) label() string {
	if s.supervisor {
		return "gunicorn-uvicorn-worker"
	}
	return s.name
}

// needASGI returns the shared virtualenv, or skips the test when it lacks
// the server (scripts/mkvenv writes a server's script only where its Debian
// package is installed).
func needASGI(t *testing.T, s asgiServer) string {
	t.Helper()
	venv := needVenv(t)
	if s.name == "gunicorn" {
		s.name = "uvicorn" // its worker class
	}
	if _, err := os.Stat(filepath.Join(venv, "bin", s.name)); err != nil {
		testenv.Skip(t, s.name+" is not installed (scripts/deps test installs it): "+err.Error())
	}
	return venv
}

// unixClient sends every request to the unix socket at path.
func unixClient(path string) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", path)
			},
		},
		Timeout: bootTimeout,
	}
}

// waitIndex polls the example app's / through c until it answers 200.
func (p *proc) waitIndex(t *testing.T, c *http.Client, url string) index {
	t.Helper()
	var status int
	var body []byte
	var err error
	p.waitFor(t, "200 from "+url, func() bool {
		var resp *http.Response
		resp, err = c.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		status = resp.StatusCode
		body = make([]byte, 0, 4096)
		buf := make([]byte, 4096)
		for {
			n, rerr := resp.Body.Read(buf)
			body = append(body, buf[:n]...)
			if rerr != nil {
				break
			}
		}
		return status == http.StatusOK
	}, func() string { return fmt.Sprintf("%d %v", status, err) })
	var got index
	require.NoError(t, json.Unmarshal(body, &got), "%s answered %s", url, body)
	return got
}

// assertServes checks that the app answered from the process runapp
// became: itself, or for a supervisor one of its children.
func (s asgiServer) assertServes(t *testing.T, p *proc, got index) {
	t.Helper()
	if s.supervisor {
		assert.Equal(t, p.pid, got.PPID, "the app runs in a child of the process runapp became")
		assert.Contains(t, children(p.pid), got.PID)
	} else {
		assert.Equal(t, p.pid, got.PID, "the app runs in the process runapp became: MainPID is the server")
	}
}

// TestASGIReadiness serves the Django project's asgi.py through runapp
// under a NOTIFY_SOCKET, and shows which servers send READY=1 (then
// Type=notify fits) and which send nothing (then Type=exec): the process
// runapp became is the server, and runapp itself sends nothing on success.
func TestASGIReadiness(t *testing.T) {
	bin := needRunapp(t)
	for _, tc := range []struct {
		server asgiServer
		ready  bool
	}{
		{uvicorn, false},
		{hypercorn, false},
		{daphne, false},
		{gunicornUvicorn, true},
	} {
		t.Run(tc.server.label(), func(t *testing.T) {
			venv := needASGI(t, tc.server)
			sock := newNotifySocket(t)
			addr := freeAddr(t)
			p := start(t, t.TempDir(), baseEnv("NOTIFY_SOCKET="+sock.Addr),
				append([]string{bin}, tc.server.args(venv, newApp(t), addr, false)...)...)
			got := p.waitIndex(t, client, "http://"+addr+"/")
			tc.server.assertServes(t, p, got)
			assert.Equal(t, venv, got.VirtualEnv)

			var msgs []string
			for {
				// READY=1 comes before the first request is served; a
				// second after it, nothing more is on its way.
				n, ok := sock.Receive(t, time.Second)
				if !ok {
					break
				}
				assert.Equal(t, p.pid, n.PID, "sender of %q", n.Msg)
				msgs = append(msgs, strings.Split(n.Msg, "\n")...)
			}
			if tc.ready {
				assert.Contains(t, msgs, "READY=1")
			} else {
				assert.Empty(t, msgs, "%s sent notifications", tc.server.label())
			}
			t.Logf("%s: served by PID %d (runapp's %d), notifications %q", tc.server.label(), got.PID, p.pid, msgs)
			p.signal(t, unix.SIGTERM)
			p.wait(t, bootTimeout)
		})
	}
}

// TestASGIReload sends HUP, the signal a gunicorn-shaped unit's
// ExecReload= sends: only gunicorn's master handles it (new workers, same
// master); uvicorn, hypercorn and daphne die of it, which systemd would
// then restart as a crash.
func TestASGIReload(t *testing.T) {
	bin := needRunapp(t)
	for _, tc := range []struct {
		server  asgiServer
		reloads bool
	}{
		{uvicorn, false},
		{hypercorn, false},
		{daphne, false},
		{gunicornUvicorn, true},
	} {
		t.Run(tc.server.label(), func(t *testing.T) {
			venv := needASGI(t, tc.server)
			addr := freeAddr(t)
			p := start(t, t.TempDir(), baseEnv(), append([]string{bin}, tc.server.args(venv, newApp(t), addr, false)...)...)
			before := p.waitIndex(t, client, "http://"+addr+"/")

			p.signal(t, unix.SIGHUP)
			if !tc.reloads {
				p.wait(t, bootTimeout)
				ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
				assert.True(t, ws.Signaled() && ws.Signal() == syscall.SIGHUP, "not killed by HUP: %v", p.cmd.ProcessState)
				return
			}
			p.waitChildren(t, "a new worker", func(k []int) bool {
				return len(k) == 1 && k[0] != before.PID
			})
			after := p.waitIndex(t, client, "http://"+addr+"/")
			assert.NotEqual(t, before.PID, after.PID, "the worker was replaced")
			assert.Equal(t, p.pid, after.PPID, "under the same master")
			p.signal(t, unix.SIGTERM)
			assert.Equal(t, 0, p.wait(t, bootTimeout))
		})
	}
}

// TestASGIStop sends TERM, what systemctl stop sends, while an async view
// sleeps, and shows whether the server lets the request finish and which
// option bounds the wait.
func TestASGIStop(t *testing.T) {
	bin := needRunapp(t)
	for _, tc := range []struct {
		name     string
		server   asgiServer
		extra    []string      // server options
		sleep    time.Duration // the request's
		graceful bool          // the request gets its answer
		within   time.Duration // the server exits this long after TERM at most
	}{
		// uvicorn 0.17 waits for every connection, unbounded: it has no
		// --timeout-graceful-shutdown (0.17's CLI refuses it, see
		// TestASGIOptionsRefused); only systemd's TimeoutStopSec= ends it.
		{"uvicorn", uvicorn, nil, 3 * time.Second, true, 10 * time.Second},
		// hypercorn waits --graceful-timeout seconds (default 3) ...
		{"hypercorn", hypercorn, nil, 2 * time.Second, true, 10 * time.Second},
		// ... and no longer.
		{"hypercorn-graceful-timeout-1", hypercorn, []string{"--graceful-timeout", "1"}, 8 * time.Second, false, 5 * time.Second},
		// daphne stops the reactor at once: the request in flight is cut.
		{"daphne", daphne, nil, 3 * time.Second, false, 3 * time.Second},
		// gunicorn's master waits --graceful-timeout (default 30) for the
		// uvicorn worker, which lets the request finish ...
		{"gunicorn-uvicorn-worker", gunicornUvicorn, nil, 3 * time.Second, true, 10 * time.Second},
		// ... and then kills it.
		{"gunicorn-uvicorn-worker-graceful-timeout-1", gunicornUvicorn, []string{"--graceful-timeout", "1"}, 8 * time.Second, false, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			venv := needASGI(t, tc.server)
			addr := freeAddr(t)
			p := start(t, t.TempDir(), baseEnv(), append([]string{bin}, tc.server.args(venv, newApp(t), addr, false, tc.extra...)...)...)
			p.waitIndex(t, client, "http://"+addr+"/")

			type result struct {
				status int
				err    error
			}
			done := make(chan result, 1)
			go func() {
				status, _, err := get(fmt.Sprintf("http://%s/async/slow?s=%g", addr, tc.sleep.Seconds()))
				done <- result{status, err}
			}()
			p.log.waitCount(t, "slow: worker", 1, bootTimeout)
			sent := time.Now()
			p.signal(t, unix.SIGTERM)
			code := p.wait(t, tc.within+5*time.Second)
			stopped := time.Since(sent)
			res := <-done

			assert.Less(t, stopped, tc.within)
			if tc.graceful {
				assert.NoError(t, res.err)
				assert.Equal(t, http.StatusOK, res.status)
				assert.GreaterOrEqual(t, stopped, tc.sleep-500*time.Millisecond, "exited before the request's end")
			} else {
				assert.False(t, res.err == nil && res.status == http.StatusOK, "the request in flight completed")
			}
			t.Logf("%s: exit %d %v after TERM; request: %d %v", tc.name, code, stopped.Round(time.Millisecond), res.status, res.err)
		})
	}
}

// uvicorn's graceful stop closes, unanswered, a connection it has accepted
// and whose request it has not read yet (uvicorn 0.17's httptools_impl
// shutdown: no request cycle, transport.close()), as gunicorn's uvicorn
// worker does when the master stops or reloads it: a request that arrives
// on it, while a slow one in flight keeps the server up, gets no answer.
// Under load that loses the requests of the clients connecting at that
// moment (README, Deploying). hypercorn answers it. (daphne is not here:
// it stops at once, the request in flight cut, as TestASGIStop shows.)
func TestASGIStopClosesUnread(t *testing.T) {
	bin := needRunapp(t)
	for _, tc := range []struct {
		s      asgiServer
		closes bool
	}{{uvicorn, true}, {gunicornUvicorn, true}, {hypercorn, false}} {
		s := tc.s
		t.Run(s.label(), func(t *testing.T) {
			venv := needASGI(t, s)
			addr := freeAddr(t)
			argv := s.args(venv, newApp(t), addr, false)
			srv := server.Lookup(s.name)
			require.NotNil(t, srv)
			args, err := srv.ReadArgs(argv[slices.Index(argv, "--")+1:])
			require.NoError(t, err)
			assert.Equal(t, tc.closes, srv.ClosesUnread(args), "the table's reading")
			p := start(t, t.TempDir(), baseEnv(), append([]string{bin}, argv...)...)
			p.waitIndex(t, client, "http://"+addr+"/")

			go func() { _, _, _ = get("http://" + addr + "/async/slow?s=3") }()
			p.log.waitCount(t, "slow: worker", 1, bootTimeout)
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer conn.Close()
			time.Sleep(300 * time.Millisecond) // accepted by the server's loop
			p.signal(t, unix.SIGTERM)
			time.Sleep(500 * time.Millisecond)
			require.False(t, p.exited(), "the slow request keeps it up")
			_, _ = conn.Write([]byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"))
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
			buf := make([]byte, 1024)
			n, err := conn.Read(buf)
			if !tc.closes {
				require.NoError(t, err)
				assert.True(t, bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 200 ")), "%q", buf[:n])
			} else {
				assert.Zero(t, n, "the request was answered: %q", buf[:n])
				var ne net.Error
				assert.False(t, errors.As(err, &ne) && ne.Timeout(), "the connection is still open: %v", err)
				assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, unix.ECONNRESET), "%v", err)
			}
			p.wait(t, 20*time.Second)
		})
	}
}

// TestASGIUnixSocket binds each server to a unix socket with its own
// option (uvicorn --uds, hypercorn --bind unix:PATH, daphne -u, gunicorn
// --bind unix:PATH) and gets a 200 through it.
func TestASGIUnixSocket(t *testing.T) {
	bin := needRunapp(t)
	for _, s := range asgiServers {
		t.Run(s.label(), func(t *testing.T) {
			venv := needASGI(t, s)
			path := filepath.Join(t.TempDir(), "web.sock")
			p := start(t, t.TempDir(), baseEnv(), append([]string{bin}, s.args(venv, newApp(t), path, true)...)...)
			got := p.waitIndex(t, unixClient(path), "http://localhost/")
			s.assertServes(t, p, got)
			p.signal(t, unix.SIGTERM)
			p.wait(t, bootTimeout)
		})
	}
}

// TestASGISocketActivation starts runapp as systemd does for a .socket
// unit, with systemd-socket-activate, and shows the argument that makes
// each server serve on fd 3 rather than bind its own socket, for each kind
// of socket: uvicorn --fd 3 and hypercorn --bind fd://3 take any; daphne
// --fd 3 is Twisted's fd endpoint, which takes the socket for IPv4 or IPv6
// but not a unix one (it answers nothing there), while its systemd endpoint
// (-e systemd:domain=INET|INET6|UNIX:index=0, which also checks LISTEN_PID:
// the PID runapp kept) takes each; gunicorn reads LISTEN_FDS itself.
func TestASGISocketActivation(t *testing.T) {
	bin := needRunapp(t)
	activate := testenv.LookPath(t, "systemd-socket-activate")
	for _, tc := range []struct {
		server asgiServer
		family string // tcp, tcp6 or unix
		args   []string
		serves bool
	}{
		{uvicorn, "tcp", []string{"--fd", "3"}, true},
		{uvicorn, "tcp6", []string{"--fd", "3"}, true},
		{uvicorn, "unix", []string{"--fd", "3"}, true},
		{hypercorn, "tcp", []string{"--bind", "fd://3"}, true},
		{hypercorn, "tcp6", []string{"--bind", "fd://3"}, true},
		{hypercorn, "unix", []string{"--bind", "fd://3"}, true},
		{daphne, "tcp", []string{"--fd", "3"}, true},
		{daphne, "unix", []string{"--fd", "3"}, false},
		{daphne, "tcp", []string{"-e", "systemd:domain=INET:index=0"}, true},
		{daphne, "tcp6", []string{"-e", "systemd:domain=INET6:index=0"}, true},
		{daphne, "unix", []string{"-e", "systemd:domain=UNIX:index=0"}, true},
		{gunicornUvicorn, "tcp", gunicornUvicorn.fd3, true},
		{gunicornUvicorn, "unix", gunicornUvicorn.fd3, true},
	} {
		t.Run(tc.server.label()+"/"+tc.family+"/"+strings.Join(tc.args, " "), func(t *testing.T) {
			venv := needASGI(t, tc.server)
			var addr, url string
			c := client
			switch tc.family {
			case "tcp":
				addr = freeAddr(t)
				url = "http://" + addr + "/"
			case "tcp6":
				l, err := net.Listen("tcp6", "[::1]:0")
				if err != nil {
					testenv.Skip(t, "no IPv6 loopback: "+err.Error())
				}
				addr = l.Addr().String()
				require.NoError(t, l.Close())
				url = "http://" + addr + "/"
			case "unix":
				addr = filepath.Join(t.TempDir(), "web.sock")
				c, url = unixClient(addr), "http://localhost/"
			}
			argv := []string{activate, "-l", addr, bin, "--app-dir", newApp(t), "--venv", venv, "--server", tc.server.name, "--"}
			argv = append(append(argv, tc.args...), asgiApp)
			p := start(t, t.TempDir(), baseEnv(), argv...)
			p.log.waitCount(t, "Listening on ", 1, bootTimeout)
			if !tc.serves {
				// systemd-socket-activate execs runapp on the first
				// connection; daphne then says it listens, on nothing.
				_, err := c.Get(url)
				assert.Error(t, err)
				p.log.waitCount(t, "Listening on TCP address", 1, bootTimeout)
				for i := 0; i < 3; i++ {
					resp, err := c.Get(url)
					if err == nil {
						resp.Body.Close()
						t.Fatalf("served: %s", resp.Status)
					}
				}
				return
			}
			// systemd-socket-activate execs runapp on the first connection,
			// which waits in the backlog until the server accepts it.
			got := p.waitIndex(t, c, url)
			tc.server.assertServes(t, p, got)
			p.signal(t, unix.SIGTERM)
			p.wait(t, bootTimeout)
		})
	}
}

// TestASGISupervisor shows the pitfalls that put a supervisor in the
// process runapp became, MainPID: uvicorn --workers 2 and --reload,
// hypercorn --workers 2. The app then runs in its children.
func TestASGISupervisor(t *testing.T) {
	bin := needRunapp(t)
	for _, tc := range []struct {
		name   string
		server asgiServer
		extra  []string
	}{
		{"uvicorn-workers", uvicorn, []string{"--workers", "2"}},
		{"uvicorn-reload", uvicorn, []string{"--reload"}},
		{"hypercorn-workers", hypercorn, []string{"--workers", "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			venv := needASGI(t, tc.server)
			addr := freeAddr(t)
			p := start(t, t.TempDir(), baseEnv(), append([]string{bin}, tc.server.args(venv, newApp(t), addr, false, tc.extra...)...)...)
			got := p.waitIndex(t, client, "http://"+addr+"/")
			assert.NotEqual(t, p.pid, got.PID, "the app runs in MainPID")
			assert.Equal(t, p.pid, got.PPID, "the app runs in a child of MainPID")
			kids := children(p.pid)
			t.Logf("%s: MainPID %d, children %v, served by %d", tc.name, p.pid, kids, got.PID)
			p.signal(t, unix.SIGTERM)
			t.Logf("%s: exit %d after TERM", tc.name, p.wait(t, bootTimeout))
			// multiprocessing's resource tracker, uvicorn's third child,
			// ends once it sees its parent gone: give it a moment.
			deadline := time.Now().Add(5 * time.Second)
			for {
				kids = slices.DeleteFunc(kids, func(pid int) bool {
					_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
					return err != nil
				})
				if len(kids) == 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			assert.Empty(t, kids, "children left 5s after TERM")
		})
	}
}

// TestASGISupervisorHUP: a uvicorn --workers supervisor in MainPID does not
// handle HUP either, and its workers outlive it: they keep the socket and
// serve, orphans, until something kills them (under systemd, KillMode=mixed
// once the unit is deemed failed). A reload is no reload here.
func TestASGISupervisorHUP(t *testing.T) {
	bin := needRunapp(t)
	venv := needASGI(t, uvicorn)
	addr := freeAddr(t)
	p := start(t, t.TempDir(), baseEnv(), append([]string{bin}, uvicorn.args(venv, newApp(t), addr, false, "--workers", "2")...)...)
	got := p.waitIndex(t, client, "http://"+addr+"/")
	require.Equal(t, p.pid, got.PPID)
	p.signal(t, unix.SIGHUP)
	// The supervisor is gone (reaped: cmd.Wait itself still waits for the
	// output pipe, which the workers hold open).
	deadline := time.Now().Add(bootTimeout)
	for {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", p.pid)); err != nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "supervisor alive %v after HUP", bootTimeout)
		time.Sleep(20 * time.Millisecond)
	}
	status, body, err := get("http://" + addr + "/")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	var after index
	require.NoError(t, json.Unmarshal(body, &after))
	assert.NotEqual(t, p.pid, after.PPID, "a worker still answers, with another parent")
	t.Logf("after HUP killed the supervisor %d, worker %d (now a child of %d) still serves", p.pid, after.PID, after.PPID)
	// The start's cleanup kills the process group, orphans included.
}

// TestASGIOptionsRefused: the options a reader of newer servers' manuals
// may expect, refused by the versions Debian 12 ships, so the table cannot
// rely on them. uvicorn 0.17 has no --timeout-graceful-shutdown (added in
// 0.20): its graceful stop is unbounded.
func TestASGIOptionsRefused(t *testing.T) {
	bin := needRunapp(t)
	venv := needASGI(t, uvicorn)
	addr := freeAddr(t)
	p := start(t, t.TempDir(), baseEnv(), append([]string{bin}, uvicorn.args(venv, newApp(t), addr, false, "--timeout-graceful-shutdown", "5")...)...)
	assert.Equal(t, 2, p.wait(t, bootTimeout), "click's usage error")
	assert.Contains(t, p.log.String(), "No such option: --timeout-graceful-shutdown")
}

// TestFastAPI serves example/fastapi, the README's FastAPI app, through
// runapp under uvicorn and under gunicorn with uvicorn's workers: its .env
// reaches the app.
func TestFastAPI(t *testing.T) {
	bin := needRunapp(t)
	for _, s := range []asgiServer{uvicorn, gunicornUvicorn} {
		t.Run(s.label(), func(t *testing.T) {
			venv := needASGI(t, s)
			if _, err := os.Stat("/usr/lib/python3/dist-packages/fastapi"); err != nil {
				testenv.Skip(t, "python3-fastapi is not installed (scripts/deps test installs it)")
			}
			app := filepath.Join(newApp(t), "fastapi")
			addr := freeAddr(t)
			argv := []string{bin, "--app-dir", app, "--venv", venv, "--server", s.name, "--"}
			argv = append(append(argv, s.bind(addr, false)...), "api:app")
			p := start(t, t.TempDir(), baseEnv(), argv...)
			var got struct {
				Greeting string `json:"greeting"`
				PID      int    `json:"pid"`
				PPID     int    `json:"ppid"`
				Cwd      string `json:"cwd"`
			}
			require.NoError(t, json.Unmarshal(p.waitHTTP(t, "http://"+addr+"/"), &got))
			assert.Equal(t, envValues(t, filepath.Join(app, ".env"))["GREETING"], got.Greeting)
			assert.Equal(t, app, got.Cwd)
			s.assertServes(t, p, index{PID: got.PID, PPID: got.PPID})
			p.signal(t, unix.SIGTERM)
			assert.Equal(t, 0, p.wait(t, bootTimeout))
		})
	}
}

// TestASGIUnderSyncWorker: gunicorn's default sync worker calls the
// application as WSGI, app(environ, start_response); an ASGI application
// (Django's asgi.py, a FastAPI app) cannot answer, and every request fails
// with 500 while the service looks healthy. runapp check says so
// (gunicorn.worker).
func TestASGIUnderSyncWorker(t *testing.T) {
	bin := needRunapp(t)
	venv := needASGI(t, gunicornUvicorn)
	for _, tc := range []struct{ name, dir, app string }{
		{"django-asgi", "", asgiApp},
		{"fastapi", "fastapi", "api:app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.dir == "fastapi" {
				if _, err := os.Stat("/usr/lib/python3/dist-packages/fastapi"); err != nil {
					testenv.Skip(t, "python3-fastapi is not installed (scripts/deps test installs it)")
				}
			}
			app := filepath.Join(newApp(t), tc.dir)
			addr := freeAddr(t)
			p := start(t, t.TempDir(), baseEnv(), bin, "--app-dir", app, "--venv", venv, "--", "--bind", addr, "--workers", "1", tc.app)
			p.log.waitCount(t, "Booting worker", 1, bootTimeout)
			var status int
			var err error
			p.waitFor(t, "an answer from "+addr, func() bool {
				status, _, err = get("http://" + addr + "/")
				return err == nil
			}, func() string { return fmt.Sprint(err) })
			assert.Equal(t, http.StatusInternalServerError, status)
			p.log.waitCount(t, "Error handling request", 1, bootTimeout)
			t.Logf("%s under the sync worker: %d", tc.app, status)
			p.signal(t, unix.SIGTERM)
			assert.Equal(t, 0, p.wait(t, bootTimeout))
		})
	}
}
