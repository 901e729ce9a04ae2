package integration

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// startWorker is a worker-like Python process for the runapp start tests:
// it says what it received once its handlers are in place, stops on
// SIGTERM as a worker's warm shutdown does, and exits 3 on SIGUSR1.
const startWorker = `import os, signal, sys

def stop(signum, frame):
    print("worker: warm shutdown on", signal.Signals(signum).name, flush=True)
    sys.exit(0)

signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGUSR1, lambda *a: sys.exit(3))
print("worker ready", os.getpid(), "PORT=" + os.environ.get("PORT", ""),
      "SITE_NAME=" + os.environ.get("SITE_NAME", ""),
      "VIRTUAL_ENV=" + os.environ.get("VIRTUAL_ENV", ""), flush=True)
while True:
    signal.pause()
`

// startApp is the example app with a Procfile: gunicorn as web, on $PORT,
// a worker-like Python process, and a release command that start leaves
// alone.
func startApp(t *testing.T) string {
	t.Helper()
	app := newApp(t)
	appVenv(t, app)
	writeFile(t, filepath.Join(app, "worker.py"), startWorker, 0o644)
	writeFile(t, filepath.Join(app, "Procfile"), `# the example app's processes
web: gunicorn --bind 127.0.0.1:$PORT --workers 2
worker: python worker.py
release: python -c "print('release ran')"
`, 0o644)
	return app
}

// freePorts returns a base port such that base and base+100 are free on
// 127.0.0.1 right now: PORT for web and worker.
func freePorts(t *testing.T) int {
	t.Helper()
	for range 100 {
		_, p, err := net.SplitHostPort(freeAddr(t))
		require.NoError(t, err)
		base, _ := strconv.Atoi(p)
		if base+100 > 65535 {
			continue
		}
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+100)); err == nil {
			l.Close()
			return base
		}
	}
	t.Fatal("no free pair of ports")
	return 0
}

// startedPIDs returns the pids runapp start says it started, by name.
func startedPIDs(out string) map[string]int {
	pids := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^runapp +\| (\S+) started \(pid (\d+)\)$`).FindAllStringSubmatch(out, -1) {
		pids[m[1]], _ = strconv.Atoi(m[2])
	}
	return pids
}

// assertSessionsGone checks that no process is left in the sessions of
// the processes start started (each started process's session and process
// group have its pid for id). Zombies are gone for this purpose, and a
// process killed just now gets a moment to go.
func assertSessionsGone(t *testing.T, pids map[string]int) {
	t.Helper()
	require.NotEmpty(t, pids)
	deadline := time.Now().Add(bootTimeout)
	for {
		var left []string
		stats, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, f := range stats {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			i := bytes.LastIndexByte(data, ')')
			fields := strings.Fields(string(data[i+1:]))
			if len(fields) < 4 || fields[0] == "Z" {
				continue
			}
			for name, id := range pids {
				if fields[2] == strconv.Itoa(id) || fields[3] == strconv.Itoa(id) {
					left = append(left, name+": "+string(data[:i+1]))
				}
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("left running: %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStart runs the example app's Procfile with runapp start: every
// process but release comes up with its output prefixed, each through the
// plan runapp serves (the .env values, the virtualenv), with PORT as foreman
// sets it; Ctrl-C, SIGINT to the process group as a terminal sends it,
// stops them all and leaves nothing running.
func TestStart(t *testing.T) {
	bin := needRunapp(t)
	app := startApp(t)
	venv := filepath.Join(app, ".venv")
	base := freePorts(t)
	p := start(t, app, baseEnv(), bin, "start", "--no-color", "--port", strconv.Itoa(base))

	got := p.index(t, fmt.Sprintf("127.0.0.1:%d", base))
	assertEnv(t, envValues(t, filepath.Join(app, ".env")), got)
	assert.Equal(t, venv, got.VirtualEnv)
	p.log.waitCount(t, "worker ready", 1, bootTimeout)
	out := p.log.String()
	assert.Regexp(t, fmt.Sprintf(`(?m)^worker \| worker ready \d+ PORT=%d SITE_NAME=runapp example site VIRTUAL_ENV=%s$`, base+100, regexp.QuoteMeta(venv)), out)
	assert.Regexp(t, `(?m)^web    \| .*Listening at: http://127\.0\.0\.1:`+strconv.Itoa(base), out)
	assert.NotContains(t, out, "release")
	pids := startedPIDs(out)
	assert.Len(t, pids, 2)

	require.NoError(t, unix.Kill(-p.pid, unix.SIGINT))
	assert.Equal(t, 130, p.wait(t, bootTimeout))
	out = p.log.String()
	assert.Contains(t, out, "runapp | SIGINT received: stopping every process")
	assert.Contains(t, out, "worker | worker: warm shutdown on SIGTERM")
	assert.Regexp(t, `(?m)^web    \| .*Shutting down: Master`, out)
	assert.Contains(t, out, "runapp | web exited with status 0")
	assertSessionsGone(t, pids)
}

// TestStartOneExits: when one process exits, start stops the others and
// exits with its status.
func TestStartOneExits(t *testing.T) {
	bin := needRunapp(t)
	app := startApp(t)
	base := freePorts(t)
	p := start(t, app, baseEnv(), bin, "start", "--no-color", "--port", strconv.Itoa(base))
	p.waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", base))
	p.log.waitCount(t, "worker ready", 1, bootTimeout)
	pids := startedPIDs(p.log.String())
	require.Contains(t, pids, "worker")

	require.NoError(t, unix.Kill(pids["worker"], unix.SIGUSR1))
	assert.Equal(t, 3, p.wait(t, bootTimeout))
	out := p.log.String()
	assert.Contains(t, out, "runapp | worker exited with status 3")
	assert.Regexp(t, `runapp \| sending SIGTERM to web`, out)
	assert.Regexp(t, `(?m)^web    \| .*Shutting down: Master`, out)
	assert.Contains(t, out, "runapp: worker exited with status 3")
	assertSessionsGone(t, pids)
}

// TestStartNamed: start runs only the processes named, release too when
// named; PORT still follows the Procfile's order, from the inherited PORT
// as the base.
func TestStartNamed(t *testing.T) {
	bin := needRunapp(t)
	app := startApp(t)
	p := start(t, app, baseEnv("PORT=7000"), bin, "start", "--no-color", "worker")
	p.log.waitCount(t, "worker ready", 1, bootTimeout)
	require.NoError(t, unix.Kill(-p.pid, unix.SIGINT))
	assert.Equal(t, 130, p.wait(t, bootTimeout))
	out := p.log.String()
	assert.Contains(t, out, " PORT=7100 ")
	assert.NotContains(t, out, "web")
	assertSessionsGone(t, startedPIDs(out))

	p = start(t, app, baseEnv(), bin, "start", "--no-color", "release")
	assert.Equal(t, 0, p.wait(t, bootTimeout))
	assert.Contains(t, p.log.String(), "release | release ran")
}

// startTasks is a celery app for the start tests: its one task sleeps, then
// writes SITE_NAME from the environment to a file, saying when it starts and
// when it is done.
const startTasks = `import os, time
from celery import Celery

app = Celery("tasks", broker=os.environ["CELERY_BROKER_URL"])

@app.task
def slow(seconds, path):
    print("task started", flush=True)
    time.sleep(seconds)
    with open(path, "w") as f:
        f.write(os.environ.get("SITE_NAME", ""))
    print("task done", flush=True)
`

// TestStartCelery: runapp start runs a celery worker as its unit does:
// Ctrl-C sends SIGTERM to the worker's main process alone, whose warm
// shutdown lets the running task finish (SIGTERM to its pool child would
// lose the task: WorkerLostError), and the task sees the .env values.
func TestStartCelery(t *testing.T) {
	bin := needRunapp(t)
	app := newApp(t)
	appVenv(t, app)
	sock := startRedis(t)
	f, err := os.OpenFile(filepath.Join(app, ".env"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = fmt.Fprintf(f, "CELERY_BROKER_URL=redis+socket://%s\n", sock)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	writeFile(t, filepath.Join(app, "src", "tasks.py"), startTasks, 0o644)
	writeFile(t, filepath.Join(app, "Procfile"), "web: gunicorn --bind 127.0.0.1:$PORT\n"+
		"worker: python -m celery -A tasks worker --loglevel INFO --concurrency 1 --pool prefork\n", 0o644)

	base := freePorts(t)
	p := start(t, app, baseEnv(), bin, "start", "--no-color", "--port", strconv.Itoa(base))
	p.waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", base))
	p.log.waitCount(t, " ready.", 1, bootTimeout)

	result := filepath.Join(t.TempDir(), "result")
	enqueue := start(t, app, baseEnv(), bin, "exec", "python", "-c",
		fmt.Sprintf("from tasks import slow; slow.delay(3, %q)", result))
	require.Equal(t, 0, enqueue.wait(t, bootTimeout), enqueue.log.String())
	p.log.waitCount(t, "task started", 1, bootTimeout)

	require.NoError(t, unix.Kill(-p.pid, unix.SIGINT))
	assert.Equal(t, 130, p.wait(t, bootTimeout))
	out := p.log.String()
	assert.Regexp(t, `runapp \| sending SIGTERM to worker \(main process \d+\)`, out)
	assert.Contains(t, out, "task done")
	assert.NotContains(t, out, "WorkerLostError")
	assert.Contains(t, out, "runapp | worker exited with status 0")
	data, err := os.ReadFile(result)
	require.NoError(t, err, "the task finished")
	assert.Equal(t, "runapp example site", string(data))
	assertSessionsGone(t, startedPIDs(out))
}
