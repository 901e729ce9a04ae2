// Package deploy applies a change of code or configuration to a running
// service the way `nginx -t && systemctl reload nginx` does: it checks
// what will run first and leaves the service alone when that fails, then
// reloads when a reload applies the change and restarts when only a restart
// does, and waits until the service is up again.
//
// A deploy is steps, each its own function: Load reads the service and
// builds the plan a start would run, Inspect compares them into Findings,
// Decide (pure) says what applies the change, Act runs the systemctl
// commands, and a Waiter waits until the service serves again (or says
// why it did not). Run strings them together, with runapp check before
// Decide, and reports each step.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runapp/runapp/check"
	"github.com/runapp/runapp/internal/running"
	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/server"
	"github.com/runapp/runapp/unitfile"
)

// Options is one deploy.
type Options struct {
	// Unit is the service, NAME.service.
	Unit string
	// Config turns the unit's ExecStart= command line (specifiers
	// expanded, as systemd runs it) into the configuration it gives
	// runapp, credentials mapping the path a LoadCredential= is read at to
	// its source; ok is false when the command is not runapp serving.
	Config func(argv []string, credentials map[string]string) (cfg launcher.Config, ok bool)
	// Check is what runapp check runs first; its Config, Environ and User
	// are the unit's, as systemd would start it.
	Check check.Options
	// Restart restarts even when a reload would do (a rebuilt virtualenv
	// that deploy cannot tell from a code change, say).
	Restart bool
	// DryRun says what would be done, and does nothing.
	DryRun bool
	// Timeout bounds the wait for the service to be up again (0: 5
	// minutes; systemd's own start timeout is 90 s, the stop's the
	// unit's), the pre-flight, and the wait for another deploy of the unit
	// to finish. It must not be negative.
	Timeout time.Duration
	// File is the unit as systemd loads it: the pre-flight and the release
	// command run with its user, environment and sandbox.
	File *unitfile.Unit
	// Health is the path the new code must answer without a 5xx, in the
	// pre-flight and after the switch (default "/").
	Health string
	// NoRelease skips the Procfile's release command.
	NoRelease bool
}

// Target is the service as it runs and what a start would run now.
type Target struct {
	Service *running.Service
	// Plan is what a start would run: the configuration ExecStart= gives
	// runapp, in the environment systemd would give it.
	Plan *launcher.Plan
}

// Load reads the service over D-Bus and builds what a start would run.
// Its errors are *launcher.Error with launcher.ExitConfig, before anything
// was touched.
func Load(ctx context.Context, sys running.Systemd, o *Options) (*Target, error) {
	svc, err := sys.Load(ctx, o.Unit)
	if err != nil {
		return nil, launcher.Errorf(launcher.ExitConfig, "cannot deploy %s: %v", o.Unit, err)
	}
	var argv []string
	if len(svc.ExecStart) > 0 {
		argv = svc.ExecStart[len(svc.ExecStart)-1].Argv
	}
	cfg, ok := o.Config(argv, svc.Credentials)
	if !ok {
		return nil, launcher.Errorf(launcher.ExitConfig, "cannot deploy %s: its ExecStart= (%s) does not serve with runapp", o.Unit, svc.FragmentPath)
	}
	inherited, err := svc.Inherited()
	if err != nil {
		return nil, launcher.Errorf(launcher.ExitConfig, "cannot deploy %s: cannot tell the environment a start would give it: %v", o.Unit, err)
	}
	o.Check.Config, o.Check.Environ = cfg, inherited
	if o.Check.User == "" {
		o.Check.User = svc.User
	}
	t := &Target{Service: svc}
	// An error here is one check reports too, with more to say.
	t.Plan, _ = launcher.Build(cfg, inherited)
	return t, nil
}

// Action is what deploy does to the service.
type Action struct {
	Verb         string   // "reload", "restart" or "start"
	DaemonReload bool     // systemctl daemon-reload first: the unit file changed
	Why          []string // the reasons, each a sentence without values
}

// Findings are what Decide weighs, found by Inspect.
type Findings struct {
	Active       bool
	State        string // ActiveState
	MainPID      int
	DaemonReload bool     // NeedDaemonReload=
	UnitChanged  []string // the unit's files modified after the server started
	// CommandDiffers says that the server runs another program or other
	// arguments than planned.
	CommandDiffers bool
	Env            []running.Change // how the planned environment differs
	// Unknown are what cannot be compared, each a phrase saying why: no
	// change is claimed for them.
	Unknown        []string
	VenvChanged    []string // pyvenv.cfg or the server script, newer than the server
	Preload        bool     // gunicorn's preload_app is on
	ReloadSendsHUP bool     // an ExecReload= sends the main process HUP
}

// Inspect compares what t.Plan would run with the running service.
func Inspect(t *Target) Findings {
	svc, plan := t.Service, t.Plan
	f := Findings{Active: svc.Active(), State: svc.ActiveState, MainPID: svc.MainPID, DaemonReload: svc.NeedDaemonReload}
	if !f.Active {
		return f
	}
	if !f.DaemonReload {
		f.UnitChanged = svc.ChangedSince(svc.UnitFiles()...)
	}
	if same, err := svc.SameCommand(plan); err != nil {
		f.Unknown = append(f.Unknown, fmt.Sprintf("the server's arguments (%v)", err))
	} else {
		f.CommandDiffers = !same
	}
	if err := svc.EnvironReadable(); err != nil {
		f.Unknown = append(f.Unknown, fmt.Sprintf("the server's environment (%v)", err))
	} else {
		f.Env = svc.EnvChanges(plan)
	}
	if plan.Venv != "" {
		f.VenvChanged = svc.ChangedSince(filepath.Join(plan.Venv, "pyvenv.cfg"), plan.Program)
	}
	f.Preload = preload(plan)
	f.ReloadSendsHUP = svc.ReloadSendsHUP()
	return f
}

// Decide says what applies the change f found: a reload (HUP: new workers
// with the new code, nothing dropped) when nothing but code can have
// changed, else a restart, with the reasons; a start when the service does
// not run. restart forces a restart.
func Decide(f Findings, restart bool) Action {
	if !f.Active {
		return Action{Verb: "start", Why: []string{fmt.Sprintf("it is not running (%s)", f.State)}, DaemonReload: f.DaemonReload}
	}
	var why []string
	if f.DaemonReload {
		why = append(why, "the unit file changed since systemd loaded it (daemon-reload first)")
	} else if len(f.UnitChanged) > 0 {
		why = append(why, fmt.Sprintf("the unit changed after the server started (%s)", strings.Join(f.UnitChanged, ", ")))
	}
	if f.CommandDiffers {
		why = append(why, "the server's program or arguments differ from the running server's")
	}
	if len(f.Env) > 0 {
		names := make([]string, len(f.Env))
		for i, c := range f.Env {
			names[i] = c.String()
		}
		why = append(why, "the environment differs from the running server's: "+strings.Join(names, ", ")+"; a reload keeps the old one")
	}
	if len(f.VenvChanged) > 0 {
		why = append(why, fmt.Sprintf("the virtualenv was rebuilt after the server started (%s); the server's own process would keep the old one", strings.Join(f.VenvChanged, ", ")))
	}
	if f.Preload {
		why = append(why, "gunicorn's preload_app is on: its master process loaded the application once, and a HUP starts workers from it with the old code")
	}
	if !f.ReloadSendsHUP {
		why = append(why, "the unit has no ExecReload= that sends HUP to $MAINPID")
	}
	if restart {
		why = append(why, "--restart")
	}
	if len(why) > 0 {
		return Action{Verb: "restart", DaemonReload: f.DaemonReload, Why: why}
	}
	why = []string{fmt.Sprintf("only code can have changed: the environment, arguments and unit are those the running server (MainPID %d) started with; HUP starts new workers with the new code and drops nothing", f.MainPID)}
	if len(f.Unknown) > 0 {
		why = []string{fmt.Sprintf("no change found that a reload does not apply: the unit is the one the running server (MainPID %d) started with; HUP starts new workers with the new code and drops nothing", f.MainPID)}
		for _, u := range f.Unknown {
			why = append(why, "cannot compare "+u+": a reload keeps them; runapp deploy --restart applies a change to them")
		}
	}
	return Action{Verb: "reload", Why: why}
}

// Commands are the systemctl commands that take act on unit.
func (a Action) Commands(unit string) [][]string {
	var c [][]string
	if a.DaemonReload {
		c = append(c, []string{"daemon-reload"})
	}
	return append(c, []string{a.Verb, unit})
}

// Act runs act's systemctl commands, saying each first.
func Act(ctx context.Context, unit string, act Action, say func(string, ...any)) error {
	for _, s := range act.Commands(unit) {
		say("systemctl %s", strings.Join(s, " "))
		if _, err := running.Systemctl(ctx, s...); err != nil {
			return err
		}
	}
	return nil
}

// begin starts a deploy of o.Unit: it checks the timeout (0 is the
// default, 5 minutes) and defaults the health path, takes the unit's deploy
// lock within the timeout, and connects to systemd. done releases both.
func begin(ctx context.Context, o *Options, say func(string, ...any)) (sys running.Systemd, done func(), err error) {
	switch {
	case o.Timeout == 0:
		o.Timeout = 5 * time.Minute
	case o.Timeout < 0:
		return nil, nil, launcher.Errorf(launcher.ExitUsage, "deploy: the timeout must be more than 0, not %s", o.Timeout)
	}
	if o.Health == "" {
		o.Health = "/"
	}
	lctx, cancel := context.WithTimeout(ctx, o.Timeout)
	unlock, err := lock(lctx, o.Unit, say)
	cancel()
	if err != nil {
		return nil, nil, err
	}
	if sys, err = running.Connect(ctx); err != nil {
		unlock()
		return nil, nil, launcher.Errorf(launcher.ExitConfig, "cannot deploy %s: %v", o.Unit, err)
	}
	return sys, func() { sys.Close(); unlock() }, nil
}

// Run deploys: with the unit's deploy lock held, it loads, checks,
// decides, runs the new code's pre-flight and the release command, acts
// and waits, and reports each step on stdout. A check that finds an error
// is a *launcher.Error with launcher.ExitConfig, and the service is left
// untouched; so is a pre-flight or a release that fails, a plain error
// (exit status 1); a service that does not come back, or answers the
// health path with a 5xx, is a plain error with the unit's state, status
// text and journal lines at priority err (else its last lines).
func Run(ctx context.Context, o Options, stdout io.Writer) error {
	say := func(format string, args ...any) { fmt.Fprintf(stdout, "deploy: "+format+"\n", args...) }
	sys, done, err := begin(ctx, &o, say)
	if err != nil {
		return err
	}
	defer done()
	t, err := Load(ctx, sys, &o)
	if err != nil {
		return err
	}

	// 1. Test what will run, in the environment systemd gives it.
	say("checking the configuration ExecStart= of %s gives runapp", t.Service.FragmentPath)
	report := check.Run(o.Check)
	if len(report.Problems) > 0 {
		if err := report.WriteText(stdout); err != nil {
			return err
		}
	}
	if report.Errors > 0 || t.Plan == nil {
		return launcher.Errorf(launcher.ExitConfig, "%s left untouched: runapp check found %d error(s) in what it would run; fix them and deploy again", o.Unit, max(report.Errors, 1))
	}
	say("check: no errors in the configuration %s would run", o.Unit)

	// 2. Decide.
	act := Decide(Inspect(t), o.Restart)
	say("%s: %s: %s", o.Unit, act.Verb, strings.Join(act.Why, "; "))
	if act.Verb != "reload" && len(t.Service.Sockets()) == 0 && t.Service.Active() {
		say("warning: %s has no socket unit: from the moment the server stops listening until the new one listens, connections are refused; with a socket unit (runapp unit --socket) they wait instead", o.Unit)
	}
	if t.Service.Active() {
		for _, n := range stopNotes(t.Plan.Process, t.Plan.Argv) {
			say("note: %s", n)
		}
	}
	network, addr := address(ctx, sys, t)
	if err := o.preflightCode(ctx, t.Plan, network, addr, say); err != nil {
		return err
	}
	if err := o.release(ctx, o.Check.Environ, t.Plan.Dir, stdout, say); err != nil {
		return err
	}
	if o.DryRun {
		for _, s := range act.Commands(o.Unit) {
			say("would run: systemctl %s", strings.Join(s, " "))
		}
		return nil
	}

	// 3. Act, and wait until it serves again.
	w := NewWaiter(ctx, sys, t, act, o.Health)
	wctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := Act(wctx, o.Unit, act, say); err != nil {
		return w.Failed(ctx, err)
	}
	res, err := w.Wait(wctx)
	if err != nil {
		return w.Failed(ctx, err)
	}
	say("%s", res)
	return nil
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }

// children are pid's child processes.
func children(pid int) []int {
	tasks, _ := filepath.Glob(running.ProcRoot + "/" + strconv.Itoa(pid) + "/task/*/children")
	var pids []int
	for _, t := range tasks {
		data, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(data)) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
	}
	slices.Sort(pids)
	return pids
}

// failed is the error for a service that did not come back: why, its
// state and status text now, and the journal of the invocation that failed
// (since start, when it is not known): its lines at priority err, else its
// last lines.
func failed(ctx context.Context, sys running.Systemd, unit string, start time.Time, invocation string, cause error) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s did not come back after %s", unit, since(start))
	if cause != nil {
		fmt.Fprintf(&b, ": %v", cause)
	}
	if st, err := sys.State(ctx, unit); err == nil {
		fmt.Fprintf(&b, "\n%s is now %s (%s, result %s", unit, st.ActiveState, st.SubState, st.Result)
		if st.NRestarts > 0 {
			fmt.Fprintf(&b, ", restarted by systemd %d times", st.NRestarts)
		}
		b.WriteString(")")
		if st.StatusText != "" {
			fmt.Fprintf(&b, "\nstatus: %s", st.StatusText)
		}
	}
	var sick *Unhealthy
	if errors.As(cause, &sick) {
		fmt.Fprintf(&b, "\nthe new code serves, and fails GET %s: fix it and deploy again, or put the old code back and deploy it", sick.Path)
	}
	// What the server wrote last may still be on its way to the journal.
	_, _ = Journal(ctx, "--sync")
	time.Sleep(200 * time.Millisecond)
	window := []string{"--since", "@" + strconv.FormatInt(start.Add(-time.Second).Unix(), 10)}
	match, what := append([]string{"-u", unit}, window...), "since the deploy"
	if invocation != "" {
		// Since the deploy too: a reloaded server's run began before it.
		match, what = append([]string{"_SYSTEMD_INVOCATION_ID=" + invocation}, window...), "of the run that failed"
	}
	lines, prio := journal(ctx, append(match, "-p", "err")), "priority err and above"
	if len(lines) == 0 {
		// gunicorn and Python write their errors to stderr, which the
		// journal keeps at priority info. A worker's traceback and then the
		// master's fill many lines; their frames (indented) are left out,
		// so that the exceptions themselves show.
		for _, l := range journal(ctx, append(match, "-n", "300")) {
			if !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "\t") {
				lines = append(lines, l)
			}
		}
		lines, prio = lines[max(0, len(lines)-30):], "its last lines, traceback frames left out"
	}
	if len(lines) > 0 {
		fmt.Fprintf(&b, "\njournal %s (%s):", what, prio)
		for _, l := range lines {
			fmt.Fprintf(&b, "\n  %s", l)
		}
	}
	return fmt.Errorf("%s", b.String())
}

// Journal runs journalctl and returns its output; a variable for tests.
var Journal = func(ctx context.Context, args ...string) ([]byte, error) {
	return exec.CommandContext(ctx, "journalctl", args...).Output()
}

// journal returns the journal lines that match args.
func journal(ctx context.Context, args []string) []string {
	out, err := Journal(ctx, append([]string{"-o", "cat", "--no-pager", "-q"}, args...)...)
	if err != nil {
		return nil
	}
	return strings.FieldsFunc(string(out), func(r rune) bool { return r == '\n' })
}

// stopNotes says what the stop of the server argv runs costs its clients
// when deploy switches it, by the table: every request in flight (a
// graceful stop of no time: daphne, or --graceful-timeout 0), or those on
// connections it has not read yet (uvicorn).
func stopNotes(process string, argv []string) []string {
	if len(argv) == 0 {
		return nil
	}
	srv, err := server.ForProcess(process, argv)
	if err != nil || srv.Kind != server.Web {
		return nil
	}
	a, err := srv.ReadArgs(argv[1:])
	if err != nil {
		return nil
	}
	var notes []string
	if server.GracefulStop(&a, 0) == 0 {
		notes = append(notes, fmt.Sprintf("%s stops with no graceful time: the requests in flight when it stops fail", srv.Name))
	}
	if srv.ClosesUnread(a) {
		notes = append(notes, fmt.Sprintf("%s's graceful stop closes, unanswered, the connections it has accepted and not read a request from yet: under load, the request of each client connecting just then can fail (README, Deploying)", srv.Name))
	}
	return notes
}
