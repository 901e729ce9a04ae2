// Package deploy applies a change of code or configuration to a running
// service the way `nginx -t && systemctl reload nginx` does: it checks
// what will run first and leaves the service alone when that fails, then
// reloads when a reload applies the change and restarts when only a restart
// does, and waits until the service is up again.
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
	"github.com/runapp/runapp/unitfile"
)

// Options is one deploy.
type Options struct {
	// Unit is the service, NAME.service.
	Unit string
	// Check is what runapp check runs first: the configuration the unit's
	// ExecStart= gives runapp, and the unit.
	Check check.Options
	// Restart restarts even when a reload would do (a rebuilt virtualenv
	// that deploy cannot tell from a code change, say).
	Restart bool
	// DryRun says what would be done, and does nothing.
	DryRun bool
	// Timeout bounds the wait for the service to be up again (default 5
	// minutes: systemd's own start timeout is 90 s, the stop's the
	// unit's), and the wait for another deploy of the unit to finish.
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

// Action is what deploy does to the service.
type Action struct {
	Verb         string   // "reload", "restart" or "start"
	DaemonReload bool     // systemctl daemon-reload first: the unit file changed
	Why          []string // the reasons, each a sentence without values
}

// Run deploys: with the unit's deploy lock held, it checks, decides, runs
// the new code's pre-flight and the release command, acts and waits, and
// reports each step on stdout. A check that finds an error is a
// *launcher.Error with launcher.ExitConfig, and the service is left
// untouched; so is a pre-flight or a release that fails, a plain error
// (exit status 1); a service that does not come back, or answers the
// health path with a 5xx, is a plain error with the unit's state, status
// text and journal lines at priority err (else its last lines).
func Run(ctx context.Context, o Options, stdout io.Writer) error {
	say := func(format string, args ...any) { fmt.Fprintf(stdout, "deploy: "+format+"\n", args...) }
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Health == "" {
		o.Health = "/"
	}
	lctx, cancel := context.WithTimeout(ctx, o.Timeout)
	unlock, err := lock(lctx, o.Unit, say)
	cancel()
	if err != nil {
		return err
	}
	defer unlock()

	svc, err := running.Load(ctx, o.Unit)
	if err != nil {
		return launcher.Errorf(launcher.ExitConfig, "cannot deploy: %v", err)
	}

	// 1. Test what will run, in the environment systemd gives it.
	if o.Check.Environ == nil {
		o.Check.Environ = svc.Inherited()
	}
	report := check.Run(o.Check)
	if len(report.Problems) > 0 {
		if err := report.WriteText(stdout); err != nil {
			return err
		}
	}
	if report.Errors > 0 {
		return launcher.Errorf(launcher.ExitConfig, "%s left untouched: runapp check found %d error(s) in what it would run; fix them and deploy again", o.Unit, report.Errors)
	}
	say("check: no errors in the configuration %s would run", o.Unit)

	// 2. Decide.
	act, err := Decide(svc, o.Check.Config, o.Restart)
	if err != nil {
		return err
	}
	say("%s: %s: %s", o.Unit, act.Verb, strings.Join(act.Why, "; "))
	if act.Verb != "reload" && svc.Socket() == "" && svc.Active() {
		say("warning: %s has no socket unit: from the moment the server stops listening until the new one listens, connections are refused; with a socket unit (runapp unit --socket) they wait instead", o.Unit)
	}
	steps := act.commands(o.Unit)
	plan, _ := launcher.Build(o.Check.Config, svc.Inherited())
	network, addr := address(ctx, svc, plan)
	if err := o.preflightCode(ctx, plan, network, addr, say); err != nil {
		return err
	}
	if err := o.release(ctx, svc.Inherited(), planDir(plan, o.Check.Config), stdout, say); err != nil {
		return err
	}
	if o.DryRun {
		for _, s := range steps {
			say("would run: systemctl %s", strings.Join(s, " "))
		}
		return nil
	}

	// 3. Act and wait until it serves again.
	wctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var workers []int
	pid := 0
	if act.Verb == "reload" {
		workers, pid = children(svc.MainPID), svc.MainPID
	}
	start := time.Now()
	invocation := ""
	if act.Verb == "reload" {
		invocation = svc.Props["InvocationID"]
	}
	for _, s := range steps {
		say("systemctl %s", strings.Join(s, " "))
		if _, err := running.Systemctl(wctx, s...); err != nil {
			return failed(ctx, o.Unit, start, invocation, err)
		}
	}
	how := "it has stayed up for " + settle.String() + " (deploy knows no address to ask it on)"
	if addr != "" {
		how = "it answers on " + addr
	}
	pid, err = waitServing(wctx, o.Unit, pid, workers, network, addr, o.Health, &invocation)
	if err != nil {
		return failed(ctx, o.Unit, start, invocation, err)
	}
	if act.Verb == "reload" {
		n, _ := fresh(pid, workers)
		say("reloaded in %s: %d new workers serve, the old ones are gone, and %s (MainPID %d)", since(start), n, how, pid)
		return nil
	}
	say("%s serves again after %s: active, and %s (MainPID %d)", o.Unit, since(start), how, pid)
	return nil
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }

// commands are the systemctl commands act takes.
func (a Action) commands(unit string) [][]string {
	var c [][]string
	if a.DaemonReload {
		c = append(c, []string{"daemon-reload"})
	}
	return append(c, []string{a.Verb, unit})
}

// Decide says what applies the change between the running service and
// what cfg plans: a reload (HUP: new workers with the new code, nothing
// dropped) when nothing but code can have changed, else a restart, with
// the reasons. restart forces a restart.
func Decide(svc *running.Service, cfg launcher.Config, restart bool) (Action, error) {
	if !svc.Active() {
		return Action{Verb: "start", Why: []string{fmt.Sprintf("it is not running (%s)", svc.Props["ActiveState"])},
			DaemonReload: svc.Props["NeedDaemonReload"] == "yes"}, nil
	}
	plan, err := launcher.Build(cfg, svc.Inherited())
	if err != nil {
		return Action{}, err
	}
	var why []string
	daemonReload := svc.Props["NeedDaemonReload"] == "yes"
	if daemonReload {
		why = append(why, "the unit file changed since systemd loaded it (daemon-reload first)")
	} else if changed := svc.ChangedSince(unitFiles(svc)...); len(changed) > 0 {
		why = append(why, fmt.Sprintf("the unit changed after the server started (%s)", strings.Join(changed, ", ")))
	}
	if same, err := svc.SameCommand(plan); err != nil {
		why = append(why, fmt.Sprintf("cannot compare the server's arguments (%v)", err))
	} else if !same {
		why = append(why, "the server's program or arguments differ from the running server's")
	}
	if changes := svc.EnvChanges(plan); len(changes) > 0 {
		names := make([]string, len(changes))
		for i, c := range changes {
			names[i] = c.String()
		}
		why = append(why, "the environment differs from the running server's: "+strings.Join(names, ", ")+"; a reload keeps the old one")
	}
	if plan.Venv != "" {
		if changed := svc.ChangedSince(filepath.Join(plan.Venv, "pyvenv.cfg"), plan.Program); len(changed) > 0 {
			why = append(why, fmt.Sprintf("the virtualenv was rebuilt after the server started (%s); the server's own process would keep the old one", strings.Join(changed, ", ")))
		}
	}
	if preload(plan) {
		why = append(why, "gunicorn's preload_app is on: its master process loaded the application once, and a HUP starts workers from it with the old code")
	}
	if !strings.Contains(svc.Props["ExecReload"], "-HUP") {
		why = append(why, "the unit has no ExecReload= that sends HUP")
	}
	if restart {
		why = append(why, "--restart")
	}
	if len(why) > 0 {
		return Action{Verb: "restart", DaemonReload: daemonReload, Why: why}, nil
	}
	return Action{Verb: "reload", Why: []string{fmt.Sprintf("only code can have changed: the environment, arguments and unit are those the running server (MainPID %d) started with; HUP starts new workers with the new code and drops nothing", svc.MainPID)}}, nil
}

// unitFiles are the files systemd read the unit from.
func unitFiles(svc *running.Service) []string {
	files := strings.Fields(svc.Props["DropInPaths"])
	if f := svc.Props["FragmentPath"]; f != "" {
		files = append([]string{f}, files...)
	}
	return files
}

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

// fresh says how many of the master pid's workers are new, none of
// before, and whether they have replaced all of them: as many as before,
// and none of the old ones left.
func fresh(pid int, before []int) (n int, replaced bool) {
	now := children(pid)
	for _, p := range now {
		if !slices.Contains(before, p) {
			n++
		}
	}
	return n, n == len(now) && n >= max(len(before), 1)
}

// failed is the error for a service that did not come back: why, its
// state and status text now, and the journal of the invocation that failed
// (since start, when it is not known): its lines at priority err, else its
// last lines.
func failed(ctx context.Context, unit string, start time.Time, invocation string, cause error) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s did not come back after %s", unit, since(start))
	if cause != nil {
		fmt.Fprintf(&b, ": %v", cause)
	}
	if props, err := running.Show(ctx, unit, "ActiveState", "SubState", "Result", "StatusText", "NRestarts"); err == nil {
		fmt.Fprintf(&b, "\n%s is now %s (%s, result %s", unit, props["ActiveState"], props["SubState"], props["Result"])
		if n := props["NRestarts"]; n != "" && n != "0" {
			fmt.Fprintf(&b, ", restarted by systemd %s times", n)
		}
		b.WriteString(")")
		if st := props["StatusText"]; st != "" {
			fmt.Fprintf(&b, "\nstatus: %s", st)
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
