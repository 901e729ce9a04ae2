package integration

// The process table's facts for celery worker, celery beat and rq worker
// (package server, celery.go and rq.go), each shown by running Debian's
// python3-celery 5.2 and python3-rq 1.13 through runapp --process, with a
// redis-server 7.0 of the test's own as the broker, on a unix socket in
// the test's temporary directory.

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/internal/testenv"
	"github.com/runapp/runapp/procfile"
	"github.com/runapp/runapp/server"
)

// procTimeout is how long celery or rq may take to start, or a task to
// run, on a busy two-core machine.
const procTimeout = 60 * time.Second

// startRedis starts a redis-server listening on a unix socket only, with
// no persistence, and stops it when the test ends. It returns the socket.
func startRedis(t *testing.T) string {
	t.Helper()
	redis := testenv.LookPath(t, "redis-server")
	dir := t.TempDir()
	sock := filepath.Join(dir, "redis.sock")
	p := start(t, dir, baseEnv(), redis, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--dir", dir)
	p.waitFor(t, "redis-server listening on "+sock, func() bool {
		_, err := os.Stat(sock)
		return err == nil
	}, p.log.String)
	return sock
}

// procsApp is an app directory with a celery app (tasks.py), an rq job
// (jobs.py), a .env naming the broker and a value the tasks write out, and
// a Procfile of a worker, beat and an rq worker.
type procsApp struct {
	dir, venv, runapp string
}

const tasksPy = `import os, pathlib, time
from celery import Celery

app = Celery("tasks", broker=os.environ["BROKER_URL"])
app.conf.broker_connection_retry_on_startup = True


def _run(seconds, path):
    pathlib.Path(path + ".started").write_text(str(os.getpid()))
    time.sleep(seconds)
    pathlib.Path(path + ".done").write_text(os.environ["GREETING"])


@app.task
def slow(seconds, path):
    _run(seconds, path)
`

const jobsPy = `from tasks import _run


def slow(seconds, path):
    _run(seconds, path)
`

func newProcsApp(t *testing.T) *procsApp {
	t.Helper()
	venv := needVenv(t)
	if _, err := os.Stat(filepath.Join(venv, "bin", "celery")); err != nil {
		testenv.Skip(t, "no celery in the virtualenv: install python3-celery (scripts/deps test)")
	}
	sock := startRedis(t)
	dir := filepath.Join(t.TempDir(), "app")
	writeFile(t, filepath.Join(dir, "tasks.py"), tasksPy, 0o644)
	writeFile(t, filepath.Join(dir, "jobs.py"), jobsPy, 0o644)
	writeFile(t, filepath.Join(dir, ".env"), "BROKER_URL=redis+socket://"+sock+"\nREDIS_URL=unix://"+sock+"\nGREETING=hello-from-env\n", 0o600)
	writeFile(t, filepath.Join(dir, "Procfile"), `worker: celery -A tasks worker --loglevel INFO --concurrency 2 --without-heartbeat --without-gossip --without-mingle
beat: celery -A tasks beat --loglevel INFO --schedule $PWD/schedule
rq: rq worker --url $REDIS_URL
named: celery -A tasks worker -n fixed@%h --loglevel INFO --concurrency 1 --without-heartbeat --without-gossip --without-mingle
rqnamed: rq worker --url $REDIS_URL --name fixed
multi: celery -A tasks multi start w1 --pidfile=w1.pid --logfile=w1.log
`, 0o644)
	return &procsApp{dir: dir, venv: venv, runapp: needRunapp(t)}
}

// start runs the process type name through runapp --process, its stdout
// a pipe, as under systemd.
func (a *procsApp) start(t *testing.T, name string, env ...string) *proc {
	t.Helper()
	return start(t, a.dir, baseEnv(append([]string{"PWD=" + a.dir}, env...)...), a.runapp, "--app-dir", a.dir, "--venv", a.venv, "--process", name)
}

// python runs a Python snippet in the app's environment, through runapp exec.
func (a *procsApp) python(t *testing.T, code string) {
	t.Helper()
	out, err := exec.Command(a.runapp, "exec", "--app-dir", a.dir, "--venv", a.venv, "--", "python", "-c", code).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// enqueue sends the slow task (celery) or job (rq) for seconds, writing
// MARKER.started and MARKER.done, and waits until it has started; it
// returns the marker and the PID that runs it.
func (a *procsApp) enqueue(t *testing.T, p *proc, kind string, seconds int) (string, int) {
	t.Helper()
	marker := filepath.Join(t.TempDir(), "task")
	switch kind {
	case "celery":
		a.python(t, "import tasks; tasks.slow.delay("+itoa(seconds)+", '"+marker+"')")
	case "rq":
		a.python(t, "import os, redis, rq, jobs; rq.Queue(connection=redis.Redis.from_url(os.environ['REDIS_URL'])).enqueue(jobs.slow, "+itoa(seconds)+", '"+marker+"')")
	}
	var pid int
	p.waitFor(t, "the task to start", func() bool {
		data, err := os.ReadFile(marker + ".started")
		if err != nil {
			return false
		}
		pid = atoi(string(data))
		return pid > 0
	}, p.log.String)
	return marker, pid
}

func itoa(n int) string { return strconv.Itoa(n) }

// atoi reads a PID; 0 for anything else.
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func signalOf(p *proc) syscall.Signal {
	ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() {
		return 0
	}
	return ws.Signal()
}

// celery sends no READY=1: with NOTIFY_SOCKET set, the worker and beat
// say "ready" in their log and nothing on the socket. Type=exec.
func TestCeleryReadiness(t *testing.T) {
	a := newProcsApp(t)
	for _, tc := range []struct{ process, ready string }{
		{"worker", "ready."},
		{"beat", "beat: Starting..."},
	} {
		t.Run(tc.process, func(t *testing.T) {
			ns := newNotifySocket(t)
			p := a.start(t, tc.process, "NOTIFY_SOCKET="+ns.Addr)
			p.log.waitCount(t, tc.ready, 1, procTimeout)
			_, got := ns.Receive(t, 3*time.Second)
			assert.False(t, got, "celery %s sent something to NOTIFY_SOCKET", tc.process)
		})
	}
}

// TERM is a warm shutdown: the running task finishes, however long it
// takes (celery has no bound of its own), and the worker exits 0.
func TestCeleryWorkerStop(t *testing.T) {
	a := newProcsApp(t)
	p := a.start(t, "worker")
	p.log.waitCount(t, "ready.", 1, procTimeout)
	marker, _ := a.enqueue(t, p, "celery", 6)
	p.signal(t, unix.SIGTERM)
	p.log.waitCount(t, "Warm shutdown", 1, procTimeout)
	time.Sleep(2 * time.Second)
	assert.False(t, p.exited(), "the worker exits while its task runs")
	assert.Equal(t, 0, p.wait(t, procTimeout))
	data, err := os.ReadFile(marker + ".done")
	require.NoError(t, err, "the task did not finish")
	assert.Equal(t, "hello-from-env", string(data), "the task sees .env through runapp")
}

// TERM sent to the prefork children too, as KillMode=control-group does,
// kills the running task at once: WorkerLostError. Hence KillMode=mixed.
func TestCeleryChildrenTERM(t *testing.T) {
	a := newProcsApp(t)
	p := a.start(t, "worker")
	p.log.waitCount(t, "ready.", 1, procTimeout)
	marker, child := a.enqueue(t, p, "celery", 6)
	require.NotEqual(t, p.pid, child, "the task runs in a child")
	require.NoError(t, unix.Kill(child, unix.SIGTERM))
	p.signal(t, unix.SIGTERM)
	p.log.waitCount(t, "WorkerLostError", 1, procTimeout)
	p.wait(t, procTimeout)
	assert.NoFileExists(t, marker+".done", "the task finished")
}

// HUP, with stdout not a terminal (as under systemd), restarts the worker
// in place: a warm shutdown, then execv of the same argv: the same PID,
// ready again. Not a reload of the environment: no ExecReload=.
func TestCeleryWorkerHUP(t *testing.T) {
	a := newProcsApp(t)
	p := a.start(t, "worker")
	p.log.waitCount(t, "ready.", 1, procTimeout)
	p.signal(t, unix.SIGHUP)
	p.log.waitCount(t, "Restarting celery worker", 1, procTimeout)
	p.log.waitCount(t, "ready.", 2, procTimeout)
	assert.False(t, p.exited(), "HUP ended the worker")
	cmdline, err := os.ReadFile("/proc/" + itoa(p.pid) + "/cmdline")
	require.NoError(t, err)
	assert.Contains(t, string(cmdline), "worker", "the same PID runs the worker again")
}

// beat has no HUP handler: HUP kills it. TERM makes it sync its schedule
// and exit 0 at once.
func TestCeleryBeatSignals(t *testing.T) {
	a := newProcsApp(t)
	p := a.start(t, "beat")
	p.log.waitCount(t, "beat: Starting...", 1, procTimeout)
	p.signal(t, unix.SIGHUP)
	p.wait(t, procTimeout)
	assert.Equal(t, unix.SIGHUP, signalOf(p), "beat survived HUP")

	p = a.start(t, "beat")
	p.log.waitCount(t, "beat: Starting...", 1, procTimeout)
	p.signal(t, unix.SIGTERM)
	assert.Equal(t, 0, p.wait(t, 10*time.Second))
}

// rq's TERM is a warm shutdown: the running job finishes. Its work horse
// given TERM itself dies with the job: KillMode=mixed.
func TestRQWorkerStop(t *testing.T) {
	a := newProcsApp(t)
	t.Run("warm", func(t *testing.T) {
		p := a.start(t, "rq")
		marker, _ := a.enqueue(t, p, "rq", 6)
		p.signal(t, unix.SIGTERM)
		time.Sleep(2 * time.Second)
		assert.False(t, p.exited(), "the worker exits while its job runs")
		assert.Equal(t, 0, p.wait(t, procTimeout))
		assert.FileExists(t, marker+".done")
	})
	t.Run("horse given TERM", func(t *testing.T) {
		p := a.start(t, "rq")
		marker, horse := a.enqueue(t, p, "rq", 6)
		require.NotEqual(t, p.pid, horse, "the job runs in a work horse")
		require.NoError(t, unix.Kill(horse, unix.SIGTERM))
		p.signal(t, unix.SIGTERM)
		p.wait(t, procTimeout)
		assert.NoFileExists(t, marker+".done", "the job finished")
	})
}

// rq has no HUP handler: HUP kills the worker, and the work horse running
// its job is left behind, orphaned (under systemd, KillMode=mixed then
// kills it: the job is lost either way).
func TestRQWorkerSignals(t *testing.T) {
	a := newProcsApp(t)
	ns := newNotifySocket(t)
	p := a.start(t, "rq", "NOTIFY_SOCKET="+ns.Addr)
	_, horse := a.enqueue(t, p, "rq", 6)
	_, got := ns.Receive(t, time.Second)
	assert.False(t, got, "rq sent something to NOTIFY_SOCKET")
	p.signal(t, unix.SIGHUP)
	// The main process ends at once and the work horse runs on. p's Wait
	// reaps the main process as soon as it ends (it is a zombie for a
	// moment at most), but returns only once the horse, which holds the
	// output pipe, has finished its job too.
	exited(t, p.pid)
	assert.NoError(t, unix.Kill(horse, 0), "the work horse is left running")
	p.wait(t, procTimeout)
	assert.Equal(t, unix.SIGHUP, signalOf(p), "rq survived HUP")
}

// exited waits until pid, a child of the test, has exited: a zombie, or
// reaped already.
func exited(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(procTimeout)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile("/proc/" + itoa(pid) + "/stat")
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		require.NoError(t, err)
		// After "pid (comm)", field 3 is the state.
		if strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))[0] == "Z" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%d still running after %v", pid, procTimeout)
}

// celery multi start exits at once and leaves its worker running detached:
// the process systemd would watch is gone while the work goes on, which is
// why the table refuses it.
func TestCeleryMulti(t *testing.T) {
	a := newProcsApp(t)
	p := a.start(t, "multi")
	assert.Equal(t, 0, p.wait(t, procTimeout), "celery multi start")
	pidfile := filepath.Join(a.dir, "w1.pid")
	var pid int
	deadline := time.Now().Add(procTimeout)
	for pid == 0 && time.Now().Before(deadline) {
		data, _ := os.ReadFile(pidfile)
		pid = atoi(strings.TrimSpace(string(data)))
		time.Sleep(50 * time.Millisecond)
	}
	require.NotZero(t, pid, "no pidfile from the detached worker; output:\n%s", p.log)
	t.Cleanup(func() {
		for _, c := range children(pid) {
			_ = unix.Kill(c, unix.SIGKILL)
		}
		_ = unix.Kill(pid, unix.SIGKILL)
	})
	assert.NoError(t, unix.Kill(pid, 0), "the worker runs on, detached, after its starter exited")
	assert.NotEqual(t, p.pid, pid)
}

// Every celery worker of a host is celery@HOST unless named: a unit of
// several instances names each through the table's NameVar, which celery
// reads as -n/--hostname (click's CELERY_ prefix), with %h the host; a -n
// on the command line wins over it, so the table reads it (Args.Name) for
// runapp unit to refuse at --scale.
func TestCeleryNodeName(t *testing.T) {
	a := newProcsApp(t)
	host, err := os.Hostname()
	require.NoError(t, err)
	for _, tc := range []struct{ process, env, name string }{
		{"worker", "", "celery@" + host},
		{"worker", "shop-worker-2@%h", "shop-worker-2@" + host},
		{"named", "shop-worker-2@%h", "fixed@" + host},
	} {
		t.Run(tc.process+" "+tc.env, func(t *testing.T) {
			srv, args := procfileArgs(t, a, tc.process)
			require.Equal(t, "CELERY_WORKER_HOSTNAME", srv.NameVar)
			assert.Equal(t, tc.process == "named", args.Name != "", "the table's reading of -n in %s", tc.process)
			var env []string
			if tc.env != "" {
				env = append(env, srv.NameVar+"="+tc.env)
			}
			p := a.start(t, tc.process, env...)
			p.log.waitCount(t, "ready.", 1, procTimeout)
			assert.Contains(t, p.log.String(), "-------------- "+tc.name+" v")
			p.signal(t, unix.SIGTERM)
			assert.Equal(t, 0, p.wait(t, procTimeout))
		})
	}
}

// rq names each worker with a random id, so instances of one command
// differ; a --name is one name, and rq refuses a second worker of a name
// that runs. The table has no NameVar for rq, and reads --name.
func TestRQWorkerNames(t *testing.T) {
	a := newProcsApp(t)
	started := regexp.MustCompile(`Worker rq:worker:(\S+): started`)
	name := func(p *proc) string {
		t.Helper()
		p.log.waitCount(t, ": started", 1, procTimeout)
		m := started.FindStringSubmatch(p.log.String())
		require.NotNil(t, m, "%s", p.log)
		return m[1]
	}
	srv, args := procfileArgs(t, a, "rq")
	assert.Empty(t, srv.NameVar)
	assert.Empty(t, args.Name)
	one, two := a.start(t, "rq"), a.start(t, "rq")
	assert.NotEqual(t, name(one), name(two))

	_, args = procfileArgs(t, a, "rqnamed")
	assert.Equal(t, "--name", args.Name)
	first := a.start(t, "rqnamed")
	assert.Equal(t, "fixed", name(first))
	second := a.start(t, "rqnamed")
	assert.NotEqual(t, 0, second.wait(t, procTimeout), "a second worker named fixed")
	assert.Contains(t, second.log.String(), "There exists an active worker named 'fixed' already")
}

// procfileArgs is the table's entry for the app's process type name, and
// its reading of the command's arguments.
func procfileArgs(t *testing.T, a *procsApp, name string) (*server.Server, server.Args) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(a.dir, "Procfile"))
	require.NoError(t, err)
	f, err := procfile.Parse("Procfile", data)
	require.NoError(t, err)
	p, ok := f.Lookup(name)
	require.True(t, ok, "no process %s", name)
	argv, err := p.Argv(func(string) (string, bool) { return "x", true })
	require.NoError(t, err)
	srv, err := server.ForProcess(name, argv)
	require.NoError(t, err)
	args, err := srv.ReadArgs(argv[1:])
	require.NoError(t, err)
	return srv, args
}
