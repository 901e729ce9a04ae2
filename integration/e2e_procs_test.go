package integration

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// e2eProcfile judges what e2e/procs.sh recorded (issue 17): the example
// under example/procs, a Django site, a celery worker, celery beat and two
// manage.py jobs on timers, run from the units runapp unit --procfile wrote.
func e2eProcfile(t *testing.T, res e2eResults) {
	units := []string{"procs-web.socket", "procs-web.service", "procs-worker.service", "procs-beat.service",
		"procs-record.timer", "procs-record.service", "procs-fail.timer", "procs-fail.service", "procs.target"}
	defer res.explain(t, units...)
	defer func() {
		if t.Failed() {
			res.dump(t, "procs-trace")
		}
	}()
	require.Equal(t, "ok", res.line(t, "procs/done"), "procs.sh did not finish")

	t.Run("units", func(t *testing.T) {
		assert.Equal(t, "0", res.line(t, "procs/start.rc"), "systemctl start procs.target")
		// runapp unit says release gets no unit, and how to run the app.
		assert.Contains(t, res.read(t, "procs/unit.err"), "process release gets no unit")
		assert.NotContains(t, res.read(t, "procs/unit.out"), "procs-release")
		for _, u := range []string{"procs-web.service", "procs-worker.service", "procs-beat.service"} {
			show := res.show(t, "procs/boot/"+u+".show")
			assert.Equal(t, "active", show["ActiveState"], u)
			assert.Contains(t, show["PartOf"], "procs.target", u)
			assert.Equal(t, "procs", show["User"], u)
			assert.Empty(t, show["Environment"], "%s: no Environment= baked from .env", u)
			assert.Empty(t, show["EnvironmentFiles"], "%s: runapp reads .env", u)
			assert.Contains(t, show["ExecStart"], "path=/usr/bin/runapp", u)
		}
		worker := res.show(t, "procs/boot/procs-worker.service.show")
		assert.Equal(t, "exec", worker["Type"])
		assert.Equal(t, "mixed", worker["KillMode"])
		assert.Equal(t, "1min 10s", worker["TimeoutStopUSec"], "--longest-task 1m and the margin")
		// The worker is MainPID itself, celery's prefork pool its children:
		// no shell, no runapp left.
		procs := e2eProcs(t, res.read(t, "procs/boot/worker.procs"))
		main := worker["MainPID"]
		var mains int
		for _, p := range procs {
			if p.pid == main {
				mains++
				assert.Contains(t, p.cmdline, "celery -A procsite worker")
			} else {
				assert.Equal(t, main, p.ppid, "%v is not a child of the worker", p)
			}
		}
		assert.Equal(t, 1, mains)
		beat := res.show(t, "procs/boot/procs-beat.service.show")
		assert.Contains(t, beat["StateDirectory"], "procs-beat", "beat writes its schedule there")
	})

	t.Run("task", func(t *testing.T) {
		var r struct {
			State  string
			Result struct {
				Greeting, User string
				PID            int
			}
		}
		require.NoError(t, json.Unmarshal([]byte(res.read(t, "procs/task/result.body")), &r))
		assert.Equal(t, "SUCCESS", r.State)
		assert.Equal(t, "hello from .env, $not expanded", r.Result.Greeting, "the worker read .env through runapp")
		assert.Equal(t, "procs", r.Result.User)
		assert.NotEqual(t, res.show(t, "procs/boot/procs-worker.service.show")["MainPID"], strconv.Itoa(r.Result.PID), "run in a pool child")
	})

	t.Run("reload-refused", func(t *testing.T) {
		assert.NotEqual(t, "0", res.line(t, "procs/reload/worker.rc"))
		assert.Contains(t, res.read(t, "procs/reload/worker.err"), "Job type reload is not applicable for unit procs-worker.service")
		after := res.show(t, "procs/reload/worker.show")
		assert.Equal(t, res.show(t, "procs/boot/procs-worker.service.show")["MainPID"], after["MainPID"], "the worker was not killed")
		assert.Equal(t, "active", after["ActiveState"])
		assert.Equal(t, "0", after["NRestarts"])
	})

	t.Run("timer", func(t *testing.T) {
		// Runs of an 8 s job on a 5 s timer never overlap: the timer does
		// not start a service that is still running.
		var runs int
		var lastEnd float64
		open := false
		for _, line := range strings.Split(strings.TrimSpace(res.read(t, "procs/timer/record.log")), "\n") {
			f := strings.Fields(line)
			ts, err := strconv.ParseFloat(f[1], 64)
			require.NoError(t, err, line)
			switch f[0] {
			case "start":
				assert.False(t, open, "a run started while another ran: %s", line)
				assert.GreaterOrEqual(t, ts, lastEnd)
				assert.Equal(t, "procs", f[2], "the job runs as the service user")
				assert.Equal(t, "hello from .env, $not expanded", strings.Join(f[3:], " "), "the job has .env")
				open = true
			case "end":
				open, lastEnd = false, ts
				runs++
			}
		}
		assert.GreaterOrEqual(t, runs, 3)
		t.Logf("record: %d runs of 8 s on a 5 s timer, none overlapping", runs)
		record := res.show(t, "procs/timer/record.show")
		assert.Equal(t, "oneshot", record["Type"])
		// A failed job: in systemctl --failed, and in the journal at err.
		assert.Contains(t, res.read(t, "procs/timer/failed"), "procs-fail.service")
		assert.Equal(t, "failed", res.show(t, "procs/timer/fail.show")["ActiveState"])
		assert.Contains(t, res.read(t, "procs/timer/fail-err"), "Failed to start procs-fail.service")
	})

	// untouched checks that the deploy recorded as deploy/STEP-* switched
	// no process of the app: the MainPIDs of before it, still active.
	untouched := func(t *testing.T, step string) {
		t.Helper()
		for _, u := range []string{"procs-web", "procs-worker", "procs-beat"} {
			after := res.show(t, "procs/deploy/"+step+"-"+u+".show")
			assert.Equal(t, res.show(t, "procs/deploy/before-"+u+".show")["MainPID"], after["MainPID"], "%s switched %s", step, u)
			assert.Equal(t, "active", after["ActiveState"], "%s: %s", step, u)
		}
	}

	t.Run("deploy-target-refused", func(t *testing.T) {
		// A view that raises at import: refused, nothing switched.
		out := res.read(t, "procs/deploy/broken.out") + res.read(t, "procs/deploy/broken.err")
		t.Logf("runapp deploy --unit procs.target of a broken view:\n%s", out)
		assert.NotEqual(t, "0", res.line(t, "procs/deploy/broken.rc"))
		assert.Contains(t, out, "e2e: broken on purpose")
		assert.Contains(t, out, "nothing of procs.target was switched")
		untouched(t, "broken")
	})

	t.Run("deploy-target-dry-run", func(t *testing.T) {
		out := res.read(t, "procs/deploy/dry.out") + res.read(t, "procs/deploy/dry.err")
		t.Logf("runapp deploy --unit procs.target --dry-run:\n%s", out)
		assert.Equal(t, "0", res.line(t, "procs/deploy/dry.rc"))
		assert.Contains(t, out, "would run: systemctl restart procs-worker.service")
		assert.Contains(t, out, "would run: systemctl restart procs-beat.service")
		untouched(t, "dry")
	})

	t.Run("deploy-target", func(t *testing.T) {
		out := res.read(t, "procs/deploy/out")
		t.Logf("runapp deploy --unit procs.target:\n%s%s", out, res.read(t, "procs/deploy/err"))
		require.Equal(t, "0", res.line(t, "procs/deploy/rc"))
		assert.Contains(t, out, "deploy: check: no errors in the processes of procs.target")
		pid := func(fact string) string { return res.show(t, "procs/deploy/"+fact+".show")["MainPID"] }
		// The web process reloaded: the same master, the new code.
		assert.Contains(t, out, "procs-web.service: reload:")
		assert.Equal(t, pid("before-procs-web"), pid("after-procs-web"))
		assert.Contains(t, res.read(t, "procs/deploy/new.body"), `"code": "v2"`, "the new code serves")
		// The worker restarted after its warm shutdown let the task finish.
		assert.Contains(t, out, "procs-worker.service: waiting for the tasks it runs to finish")
		assert.Regexp(t, `procs-worker.service: restarted in \S+ \(stopped in \S+\)`, out)
		assert.NotEqual(t, pid("before-procs-worker"), pid("after-procs-worker"))
		assert.Equal(t, "0", res.line(t, "procs/deploy/task-done"), "the task running during the deploy finished")
		assert.Contains(t, res.read(t, "procs/deploy/result.body"), `"SUCCESS"`)
		// beat restarted; the timers' jobs left to their next run.
		assert.NotEqual(t, pid("before-procs-beat"), pid("after-procs-beat"))
		assert.Contains(t, out, "procs-record.service: left alone: started by procs-record.timer")
		assert.NotContains(t, out, "systemctl restart procs-record")
		assert.NotContains(t, out, "systemctl restart procs-fail")
		seconds, err := strconv.ParseFloat(res.line(t, "procs/deploy/seconds"), 64)
		require.NoError(t, err)
		t.Logf("runapp deploy --unit procs.target with a 6 s task running took %.1f s", seconds)

		// Nothing changed: the web process reloads, the worker restarts
		// all the same (deploy cannot tell a code change) and says why.
		again := res.read(t, "procs/deploy/again.out")
		require.Equal(t, "0", res.line(t, "procs/deploy/again.rc"), again)
		assert.Contains(t, again, "procs-web.service: reload:")
		assert.Equal(t, pid("after-procs-web"), pid("again-procs-web"))
		assert.Contains(t, again, "cannot tell whether code changed: restarted on every deploy")
		assert.NotEqual(t, pid("after-procs-worker"), pid("again-procs-worker"))
		t.Logf("a second deploy, nothing changed, took %s s", res.line(t, "procs/deploy/again.seconds"))
	})

	t.Run("scale", func(t *testing.T) {
		// Two instances of one celery worker, each its own node name,
		// both answering celery's remote control.
		assert.Contains(t, res.read(t, "procs/scale/unit.out"), "scaled-worker@.service")
		assert.Equal(t, "0", res.line(t, "procs/scale/start.rc"))
		ping := res.read(t, "procs/scale/ping")
		t.Logf("celery inspect ping:\n%s", ping)
		assert.Equal(t, "0", res.line(t, "procs/scale/ping.rc"))
		host := res.line(t, "procs/scale/hostname")
		for _, name := range []string{"scaled-worker-1@" + host, "scaled-worker-2@" + host} {
			assert.Regexp(t, `(?m)^->\s+`+regexp.QuoteMeta(name)+`: OK$`, ping, "no reply from %s", name)
		}
		assert.Contains(t, ping, "2 nodes online")
	})

	t.Run("stop-target", func(t *testing.T) {
		assert.Equal(t, "0", res.line(t, "procs/stop/rc"))
		assert.Equal(t, "0", res.line(t, "procs/stop/task-done"), "the running task finished before the worker stopped")
		journal := res.read(t, "procs/stop/worker.journal")
		assert.Contains(t, journal, "Warm shutdown")
		assert.NotContains(t, journal, "WorkerLostError")
		seconds, err := strconv.ParseFloat(res.line(t, "procs/stop/stop-seconds"), 64)
		require.NoError(t, err)
		assert.Less(t, seconds, 70.0, "within TimeoutStopSec=")
		t.Logf("systemctl stop procs.target with a 6 s task running took %.1f s", seconds)
		for _, u := range units {
			// A job cut short by the stop, or one that failed before,
			// is failed: stopped all the same.
			state := res.show(t, "procs/stop/"+u+".show")["ActiveState"]
			assert.Contains(t, []string{"inactive", "failed"}, state, "%s still runs after systemctl stop procs.target", u)
		}
		for _, u := range []string{"procs-web.service", "procs-worker.service", "procs-beat.service", "procs-web.socket"} {
			assert.Equal(t, "inactive", res.show(t, "procs/stop/"+u+".show")["ActiveState"], "%s stopped cleanly", u)
		}
	})
}
