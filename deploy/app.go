package deploy

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/runapp/runapp/check"
	"github.com/runapp/runapp/internal/running"
	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/server"
	"github.com/runapp/runapp/unitfile"
)

// Settle is how long a restarted process without an HTTP answer (a worker,
// beat) must stay active with the same main process to count as back: a
// Type=exec service is active once it runs, and one that cannot load its
// code exits within it.
var Settle = 3 * time.Second

// Member is what DecideMember weighs about one service of an app's target.
type Member struct {
	Unit         string
	Kind         server.Kind // the table's kind of its program
	Program      string      // the table's name of it, "" for a plain program
	WarmStop     bool        // TERM lets running tasks finish (a worker)
	Timer        string      // the timer that starts it, "" when none
	Active       bool
	State        string // ActiveState
	DaemonReload bool   // NeedDaemonReload=
}

// Step is what deploy does to one member.
type Step struct {
	// Verb is "deploy" (a web process: the single-service deploy, which
	// reloads when only code can have changed), "restart", "start" or
	// "leave" (a timer's job: its next run starts the new code).
	Verb         string
	DaemonReload bool
	Why          string
}

// DecideMember says what deploys the new code to m (pure).
func DecideMember(m Member) Step {
	switch {
	case m.Timer != "":
		why := fmt.Sprintf("started by %s: its next run starts the new code; not restarted", m.Timer)
		if m.DaemonReload {
			why += " (its unit changed: daemon-reload)"
		}
		return Step{Verb: "leave", DaemonReload: m.DaemonReload, Why: why}
	case m.Kind == server.Web:
		return Step{Verb: "deploy", Why: "a web process: reloaded when only code can have changed, else restarted"}
	case !m.Active:
		return Step{Verb: "start", DaemonReload: m.DaemonReload, Why: fmt.Sprintf("it is not running (%s)", m.State)}
	}
	what := "a plain program"
	if m.Program != "" {
		what = m.Program
	}
	why := what + " has no reload (HUP would kill it or re-exec it with the old environment), and deploy cannot tell whether code changed: restarted on every deploy"
	if m.WarmStop {
		why += "; its stop is a warm shutdown: the tasks it runs finish first"
	}
	return Step{Verb: "restart", DaemonReload: m.DaemonReload, Why: why}
}

// member is one service of the target as RunApp handles it.
type member struct {
	Member
	o    Options
	t    *Target
	step Step
}

// targetUnits are the services of target: what it wants and what is part
// of it (the running instances of a template), a timer's service in place
// of the timer, sorted.
func targetUnits(ctx context.Context, sys running.Systemd, target string) ([]string, error) {
	d, err := sys.Deps(ctx, target)
	if err != nil {
		return nil, err
	}
	if d.LoadState != "loaded" {
		return nil, fmt.Errorf("%s is %s", target, d.LoadState)
	}
	var units []string
	for _, n := range append(d.Wants, d.ConsistsOf...) {
		switch {
		case strings.HasSuffix(n, ".service"):
			units = append(units, n)
		case strings.HasSuffix(n, ".timer"):
			t, err := sys.Deps(ctx, n)
			if err != nil {
				return nil, err
			}
			units = append(units, t.Triggers...)
		}
	}
	slices.Sort(units)
	return slices.Compact(units), nil
}

// RunApp deploys every process of an app's target, o.Unit (NAME.target):
// it checks each service's configuration first, and leaves them all
// untouched on an error; deploys the web processes as Run does (their
// pre-flight, the release command once, then reload or restart); then
// restarts every other long-running process (none has a reload), waiting
// for a worker's warm shutdown, and leaves the services timers start to
// their next run. It says what it did to each. The first failure stops it,
// naming the units already switched.
func RunApp(ctx context.Context, o Options, stdout io.Writer) error {
	say := func(format string, args ...any) { fmt.Fprintf(stdout, "deploy: "+format+"\n", args...) }
	start := time.Now()
	sys, finish, err := begin(ctx, &o, say)
	if err != nil {
		return err
	}
	defer finish()
	units, err := targetUnits(ctx, sys, o.Unit)
	if err != nil {
		return launcher.Errorf(launcher.ExitConfig, "cannot deploy %s: %v", o.Unit, err)
	}
	if len(units) == 0 {
		return launcher.Errorf(launcher.ExitConfig, "cannot deploy %s: it wants no service", o.Unit)
	}
	defer sys.Close()

	// 1. Check the app, every process and its installed unit, as runapp
	// check --unit NAME.target does, before anything is touched.
	say("%s: %s", o.Unit, strings.Join(units, " "))
	var members []*member
	for _, u := range units {
		m := &member{o: o}
		m.o.Unit = u
		m.o.Check.Name = strings.TrimSuffix(u, ".service")
		m.o.File = nil
		if f, err := unitfile.Load(u, nil); err == nil {
			m.o.File = f
		}
		if m.t, err = Load(ctx, sys, &m.o); err != nil {
			return err
		}
		if m.t.Plan == nil {
			return launcher.Errorf(launcher.ExitConfig, "%s left untouched: %s would not start (runapp check --unit %s says why)", o.Unit, u, u)
		}
		m.Member = memberOf(m.t)
		m.step = DecideMember(m.Member)
		members = append(members, m)
	}
	// Web processes first: their pre-flight and the release command run
	// before anything is switched.
	slices.SortStableFunc(members, func(a, b *member) int {
		return boolInt(a.step.Verb != "deploy") - boolInt(b.step.Verb != "deploy")
	})
	app := members[0].o.Check
	app.Name, app.Unit, app.WholeApp, app.Processes = strings.TrimSuffix(o.Unit, ".target"), "", true, true
	say("checking every process of %s and its unit, with the configuration ExecStart= of %s gives runapp", o.Unit, members[0].Unit)
	report := check.Run(app)
	if len(report.Problems) > 0 {
		if err := report.WriteText(stdout); err != nil {
			return err
		}
	}
	if report.Errors > 0 {
		return launcher.Errorf(launcher.ExitConfig, "%s left untouched: runapp check found %d error(s) in what it would run; fix them and deploy again", o.Unit, report.Errors)
	}
	say("check: no errors in the processes of %s", o.Unit)

	var done []string
	stopped := func(err error) error {
		if len(done) == 0 {
			return fmt.Errorf("%w\nnothing of %s was switched", err, o.Unit)
		}
		return fmt.Errorf("%w\nalready switched to the new code: %s", err, strings.Join(done, ", "))
	}
	released := false
	for _, m := range members {
		if m.step.Verb != "deploy" {
			continue
		}
		m.o.NoRelease = o.NoRelease || released
		released = true
		if err := Run(ctx, m.o, stdout); err != nil {
			return stopped(err)
		}
		done = append(done, m.Unit)
	}
	if !released {
		// No web process: the release command runs as the first process.
		m := members[0]
		if err := m.o.release(ctx, m.o.Check.Environ, m.t.Plan.Dir, stdout, say); err != nil {
			return err
		}
	}

	if slices.ContainsFunc(members, func(m *member) bool { return m.step.Verb != "deploy" && m.step.DaemonReload }) {
		if o.DryRun {
			say("would run: systemctl daemon-reload")
		} else {
			say("systemctl daemon-reload")
			if _, err := running.Systemctl(ctx, "daemon-reload"); err != nil {
				return stopped(err)
			}
		}
	}
	for _, m := range members {
		switch m.step.Verb {
		case "deploy":
			continue
		case "leave":
			say("%s: left alone: %s", m.Unit, m.step.Why)
			continue
		}
		say("%s: %s: %s", m.Unit, m.step.Verb, m.step.Why)
		if o.DryRun {
			say("would run: systemctl %s %s", m.step.Verb, m.Unit)
			continue
		}
		if err := m.switchTo(ctx, sys, say); err != nil {
			return stopped(err)
		}
		done = append(done, m.Unit)
	}
	if !o.DryRun {
		say("%s: deployed in %s", o.Unit, since(start))
	}
	return nil
}

// memberOf is what DecideMember weighs about t, as the table knows its
// program.
func memberOf(t *Target) Member {
	svc := t.Service
	m := Member{Unit: svc.Unit, Active: svc.Active(), State: svc.ActiveState, DaemonReload: svc.NeedDaemonReload, Kind: server.Program}
	for _, u := range svc.TriggeredBy {
		if strings.HasSuffix(u, ".timer") {
			m.Timer = u
		}
	}
	if s, err := server.ForProcess(t.Plan.Process, t.Plan.Argv); err == nil {
		m.Kind, m.WarmStop = s.Kind, s.GracefulUnbounded
		if s.Kind != server.Program {
			m.Program = s.Name
		}
	}
	return m
}

// switchTo restarts (or starts) m and waits until it is back: active, a
// new main process, which stays up for Settle. A worker's stop waits for
// its running tasks.
func (m *member) switchTo(ctx context.Context, sys running.Systemd, say func(string, ...any)) error {
	start := time.Now()
	old := m.t.Service.MainPID
	if m.WarmStop && m.step.Verb == "restart" {
		say("%s: waiting for the tasks it runs to finish (warm shutdown, at most TimeoutStopSec=%s)", m.Unit, m.t.Service.TimeoutStop)
	}
	wctx, cancel := context.WithTimeout(ctx, m.o.Timeout)
	defer cancel()
	say("systemctl %s %s", m.step.Verb, m.Unit)
	if _, err := running.Systemctl(wctx, m.step.Verb, m.Unit); err != nil {
		return failed(ctx, sys, m.Unit, start, "", err)
	}
	stopped := time.Since(start)
	var pid int
	var since time.Time
	for {
		st, err := sys.State(wctx, m.Unit)
		if err != nil {
			return failed(ctx, sys, m.Unit, start, "", err)
		}
		if st.ActiveState != "active" || st.MainPID == 0 || st.MainPID == old {
			if st.ActiveState == "failed" || st.ActiveState == "inactive" {
				return failed(ctx, sys, m.Unit, start, st.InvocationID, fmt.Errorf("it exited"))
			}
			pid = 0
		} else if st.MainPID != pid {
			pid, since = st.MainPID, time.Now()
		} else if time.Since(since) >= Settle {
			say("%s: %sed in %s (stopped in %s), MainPID %d -> %d, up for %s", m.Unit, m.step.Verb, time.Since(start).Round(time.Millisecond), stopped.Round(time.Millisecond), old, pid, Settle)
			return nil
		}
		select {
		case <-wctx.Done():
			return failed(ctx, sys, m.Unit, start, "", fmt.Errorf("not active with one main process for %s within --timeout", Settle))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
