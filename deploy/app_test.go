package deploy

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/running"
	"github.com/runapp/runapp/server"
)

// TestDecideMember: each process of an app's target, as the table says.
func TestDecideMember(t *testing.T) {
	for _, c := range []struct {
		name    string
		m       Member
		verb    string
		daemon  bool
		mention string
	}{
		{"web", Member{Kind: server.Web, Program: "gunicorn", Active: true}, "deploy", false, "reloaded when only code"},
		{"worker", Member{Kind: server.Worker, Program: "celery worker", WarmStop: true, Active: true}, "restart", false, "warm shutdown"},
		{"rq", Member{Kind: server.Worker, Program: "rq worker", Active: true}, "restart", false, "restarted on every deploy"},
		{"beat", Member{Kind: server.Scheduler, Program: "celery beat", Active: true}, "restart", false, "celery beat has no reload"},
		{"program", Member{Kind: server.Program, Active: true}, "restart", false, "a plain program"},
		{"changed unit", Member{Kind: server.Worker, Active: true, DaemonReload: true}, "restart", true, ""},
		{"stopped worker", Member{Kind: server.Worker, State: "failed"}, "start", false, "not running (failed)"},
		{"timer job", Member{Kind: server.Program, Timer: "app-job.timer"}, "leave", false, "next run"},
		{"timer job, unit changed", Member{Kind: server.Program, Timer: "app-job.timer", DaemonReload: true}, "leave", true, "daemon-reload"},
		// A web process its timer starts is still a job: never restarted.
		{"timer web", Member{Kind: server.Web, Timer: "app-job.timer", Active: true}, "leave", false, "app-job.timer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := DecideMember(c.m)
			assert.Equal(t, c.verb, s.Verb)
			assert.Equal(t, c.daemon, s.DaemonReload)
			assert.Contains(t, s.Why, c.mention)
			if c.m.Kind != server.Worker || !c.m.WarmStop {
				assert.NotContains(t, s.Why, "warm")
			}
		})
	}
}

// TestTargetUnits: a target's services from its Wants= and ConsistsOf=,
// template instances each, a timer's service in place of the timer.
func TestTargetUnits(t *testing.T) {
	sys := &fakeSystemd{deps: map[string]running.Deps{
		"app.target": {LoadState: "loaded",
			Wants:      []string{"app-web.socket", "app-web.service", "app-worker@1.service", "app-worker@2.service", "app-job.timer"},
			ConsistsOf: []string{"app-worker@2.service", "app-worker@1.service", "app-web.service", "app-beat.service"}},
		"app-job.timer": {LoadState: "loaded", Triggers: []string{"app-job.service"}},
	}}
	units, err := targetUnits(context.Background(), sys, "app.target")
	require.NoError(t, err)
	assert.Equal(t, []string{"app-beat.service", "app-job.service", "app-web.service", "app-worker@1.service", "app-worker@2.service"}, units)
	_, err = targetUnits(context.Background(), sys, "gone.target")
	assert.ErrorContains(t, err, "gone.target is not-found")
}
