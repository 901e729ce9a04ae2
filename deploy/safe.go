package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/runapp/runapp/internal/running"
	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/preflight"
)

// preflightCode runs the new code's pre-flight (package preflight) in a
// transient service with the unit's exec options, before anything touches
// the running service: a *preflight.Failed when the new code does not
// load or its health path answers with a 5xx, nil when it passed or when
// deploy cannot tell which application the server serves (said on say).
func (o *Options) preflightCode(ctx context.Context, plan *launcher.Plan, network, addr string, say func(string, ...any)) error {
	host, port := hostPort(network, addr)
	if addr == "" {
		host, port = "localhost", "80"
	}
	app, err := preflight.ForPlan(plan, o.Health, host, port)
	if err != nil {
		say("warning: no pre-flight of the new code: %v", err)
		return nil
	}
	if o.File == nil {
		say("warning: no pre-flight of the new code: deploy found no file of %s to start it as the service starts", o.Unit)
		return nil
	}
	name := transientName("preflight", o.Unit)
	argv, err := preflight.Transient(o.File, name, "exec", append([]string{"--"}, app.Argv()...)...)
	if err != nil {
		return launcher.Errorf(launcher.ExitConfig, "cannot run the pre-flight as %s runs: %v", o.Unit, err)
	}
	if o.DryRun {
		say("would run the pre-flight: import %s as %s runs, and GET %s through it", app.Spec, o.Unit, o.Health)
		return nil
	}
	start := time.Now()
	// An import that hangs (a database asked at import) must not hang the
	// deploy: the pre-flight gets --timeout too.
	pctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	status, err := preflight.Check(pctx, exec.CommandContext(pctx, argv[0], argv[1:]...))
	stopTransient(pctx, name)
	if err != nil {
		return fmt.Errorf("%s left untouched, the old code serves on: the new code fails its pre-flight (%s imported as %s runs, in %s): %w", o.Unit, app.Spec, name, since(start), err)
	}
	say("pre-flight: %s imports as %s runs, and %s (%s)", app.Spec, o.Unit, status, since(start))
	return nil
}

// release runs the release command, the app's Procfile's release process
// (Heroku's release phase: migrations, collectstatic), once, before
// anything is reloaded or restarted: in a transient service with the
// unit's user, environment, sandbox and writable paths, through runapp
// serve --process release, its output to stdout and to the unit's
// journal. An app with no Procfile, or none with a release process, has
// nothing to run. environ is the environment systemd gives the service. A
// Procfile runapp refuses is a *launcher.Error (78); a
// release that fails, a plain error (1): either way nothing was touched.
func (o *Options) release(ctx context.Context, environ []string, dir string, stdout io.Writer, say func(string, ...any)) error {
	cfg := o.Check.Config
	path := launcher.ProcfilePath(dir, cfg)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	f, err := launcher.ReadProcfile(path)
	if err != nil {
		return err
	}
	proc, ok := f.Lookup("release")
	if !ok {
		return nil
	}
	where := fmt.Sprintf("%s:%d", path, proc.Line)
	if o.NoRelease {
		say("release: %s skipped (--no-release)", where)
		return nil
	}
	// What runapp will run, checked here so that a command runapp refuses
	// is told before anything starts.
	cfg.Process, cfg.Server, cfg.Args, cfg.Command = "release", "", nil, false
	if _, err := launcher.Build(cfg, environ); err != nil {
		return err
	}
	if o.File == nil {
		return launcher.Errorf(launcher.ExitConfig, "%s left untouched: deploy found no file of %s to run the release command (%s) as the service runs; --no-release skips it", o.Unit, o.Unit, where)
	}
	unit := strings.TrimSuffix(o.Unit, ".service")
	name := transientName("release", o.Unit)
	argv, err := preflight.Transient(o.File, name, "serve", "--process", "release")
	if err != nil {
		return launcher.Errorf(launcher.ExitConfig, "cannot run the release command as %s runs: %v", o.Unit, err)
	}
	if o.DryRun {
		say("would run the release command (%s) as %s runs: %s", where, o.Unit, proc.Command)
		return nil
	}
	say("release: running %s (%s) as %s runs, in %s", proc.Command, where, o.Unit, name)
	start := time.Now()
	err = preflight.Release(ctx, argv, o.Unit, unit+"-release", stdout)
	stopTransient(ctx, name)
	if err != nil {
		return fmt.Errorf("%s left untouched, the old code serves on: the release command (%s) failed after %s: %w; fix it and deploy again (--no-release skips it)", o.Unit, where, since(start), err)
	}
	say("release: done in %s", since(start))
	return nil
}

// transientName is the name of the transient service that runs what
// (preflight, release) for unit: runapp's, the unit's, this deploy's. An
// "@" would make it an instance of the unit's template (tpl@dep's
// pre-flight, of tpl@.service), which systemd refuses to create as a
// transient unit.
func transientName(what, unit string) string {
	base := strings.ReplaceAll(strings.TrimSuffix(unit, ".service"), "@", "-")
	return "runapp-" + what + "-" + base + "-" + strconv.Itoa(os.Getpid()) + ".service"
}

// stopTransient stops the transient service name when ctx ended before it
// did: killing systemd-run leaves the service running.
func stopTransient(ctx context.Context, name string) {
	if ctx.Err() == nil {
		return
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, _ = running.Systemctl(sctx, "stop", name)
}
