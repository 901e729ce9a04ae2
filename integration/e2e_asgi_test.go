package integration

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// e2eASGI judges what e2e/asgi.sh recorded (issue 13), with the units
// runapp unit wrote for two ASGI apps: dj, the example Django project's
// asgi.py under uvicorn behind a socket unit, written with no SERVER-ARGS;
// api, the FastAPI example under gunicorn with uvicorn's workers.
func e2eASGI(t *testing.T, res e2eResults) {
	require.Equal(t, "ok", res.line(t, "asgi/done"), "asgi.sh did not finish")

	t.Run("uvicorn-socket", func(t *testing.T) {
		defer res.explain(t, "dj.socket", "dj.service")
		defer e2eASGITrace(t, res)
		// Nothing but the note every socket unit gets, how to stop both.
		var said []string
		for _, l := range strings.Split(res.read(t, "asgi/dj/unit.err"), "\n") {
			if l != "" && !strings.HasSuffix(l, "stop both with systemctl stop dj.socket dj.service") {
				said = append(said, l)
			}
		}
		assert.Empty(t, said, "runapp unit said something for uvicorn")
		// Socket activation: nothing ran until the first connection, which
		// the socket held until uvicorn, given --fd 3, served it.
		assert.Equal(t, "inactive", res.show(t, "asgi/dj/at-boot.show")["ActiveState"])
		got := e2eIndex(t, res, "asgi/dj/index")
		show := res.show(t, "asgi/dj/serve.show")
		assert.Equal(t, "active", show["ActiveState"])
		assert.Equal(t, "exec", show["Type"])
		assert.Empty(t, show["ExecReload"])
		assert.Equal(t, show["MainPID"], strconv.Itoa(got.PID), "the view ran in MainPID: uvicorn itself")
		assert.Equal(t, "/srv/dj/.venv", got.VirtualEnv)
		assert.Equal(t, "/srv/dj", got.Cwd)
		// runapp found the project's asgi.py after the unit's --fd 3.
		procs := e2eProcs(t, res.read(t, "asgi/dj/procs"))
		require.Len(t, procs, 1, "uvicorn alone in the unit")
		assert.Contains(t, procs[0].cmdline, "/srv/dj/.venv/bin/uvicorn --fd 3 project.asgi:application")
		assert.NotEqual(t, "0", procs[0].uid)

		// No ExecReload=: systemd refuses the reload, and uvicorn, which
		// HUP would kill, goes on serving in the same process.
		assert.NotEqual(t, "0", res.line(t, "asgi/dj/reload.rc"))
		assert.Contains(t, res.read(t, "asgi/dj/reload.err"), "Job type reload is not applicable for unit dj.service")
		after := res.show(t, "asgi/dj/reload.show")
		assert.Equal(t, show["MainPID"], after["MainPID"], "MainPID changed: a crash and restart")
		assert.Equal(t, "0", after["NRestarts"])
		assert.Equal(t, "active", after["ActiveState"])
		assert.Equal(t, "200", res.line(t, "asgi/dj/after-reload.code"))

		// Stop: uvicorn lets the async view in flight finish, then exits,
		// well within the unit's TimeoutStopSec=40.
		e2eASGIStop(t, res, "dj", 40*time.Second)
	})

	t.Run("gunicorn-uvicorn-worker", func(t *testing.T) {
		defer res.explain(t, "api.service")
		defer e2eASGITrace(t, res)
		show := res.show(t, "asgi/api/serve.show")
		assert.Equal(t, "active", show["ActiveState"])
		assert.Equal(t, "notify", show["Type"], "gunicorn's master sends READY=1 with uvicorn's workers too")
		main := show["MainPID"]
		procs := e2eProcs(t, res.read(t, "asgi/api/procs"))
		workers := 0
		for _, p := range procs {
			assert.Contains(t, p.cmdline, "/srv/api/.venv/bin/gunicorn -k uvicorn.workers.UvicornWorker", "process %s", p.pid)
			if p.pid != main {
				assert.Equal(t, main, p.ppid, "process %s", p.pid)
				workers++
			}
		}
		assert.Equal(t, 2, workers)
		require.Equal(t, "200", res.line(t, "asgi/api/index.code"), res.read(t, "asgi/api/index.body"))
		var got struct {
			Greeting string `json:"greeting"`
			PPID     int    `json:"ppid"`
		}
		require.NoError(t, json.Unmarshal([]byte(res.read(t, "asgi/api/index.body")), &got))
		assert.Equal(t, "Hello from FastAPI, through runapp", got.Greeting)
		assert.Equal(t, main, strconv.Itoa(got.PPID))

		// Reload: new workers under the same master.
		assert.Equal(t, "0", res.line(t, "asgi/api/reload.rc"), res.read(t, "asgi/api/reload.err"))
		before := strings.Fields(res.read(t, "asgi/api/reload-before"))
		afterKids := strings.Fields(res.read(t, "asgi/api/reload-after"))
		assert.Len(t, afterKids, len(before))
		for _, pid := range afterKids {
			assert.NotContains(t, before, pid, "worker survived the reload")
		}
		after := res.show(t, "asgi/api/reload.show")
		assert.Equal(t, main, after["MainPID"])
		assert.Equal(t, "0", after["NRestarts"])
		assert.Equal(t, "200", res.line(t, "asgi/api/after-reload.code"))

		// Stop: the master waits for the worker's request (graceful
		// timeout 30 s), within TimeoutStopSec=40.
		e2eASGIStop(t, res, "api", 40*time.Second)
	})
}

// e2eASGIStop: systemctl stop during a 3 s request let it finish, and the
// service ended cleanly before the unit's stop timeout.
func e2eASGIStop(t *testing.T, res e2eResults, app string, timeout time.Duration) {
	t.Helper()
	dir := "asgi/" + app + "/"
	assert.Equal(t, "200", res.line(t, dir+"slow.code"), "the request in flight: %s", res.read(t, dir+"slow.err"))
	var slow struct{ Slept float64 }
	assert.NoError(t, json.Unmarshal([]byte(res.read(t, dir+"slow.body")), &slow))
	assert.Equal(t, 3.0, slow.Slept)
	stop := e2eSeconds(t, res.line(t, dir+"stop-seconds"))
	t.Logf("%s: systemctl stop took %s", app, stop)
	assert.Less(t, stop, timeout)
	show := res.show(t, dir+"stopped.show")
	assert.Equal(t, "inactive", show["ActiveState"])
	assert.Equal(t, "success", show["Result"])
	assert.Equal(t, "0", show["NRestarts"])
}

// e2eASGITrace shows asgi.sh's trace when t has failed.
func e2eASGITrace(t *testing.T, res e2eResults) {
	if t.Failed() {
		res.dump(t, "asgi-trace")
	}
}
