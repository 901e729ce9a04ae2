package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

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
	name := strings.TrimSuffix(o.Unit, ".service") + "-preflight-" + strconv.Itoa(os.Getpid()) + ".service"
	argv, err := preflight.Transient(o.File, name, "exec", append([]string{"--"}, app.Argv()...)...)
	if err != nil {
		return launcher.Errorf(launcher.ExitConfig, "cannot run the pre-flight as %s runs: %v", o.Unit, err)
	}
	if o.DryRun {
		say("would run the pre-flight: import %s as %s runs, and GET %s through it", app.Spec, o.Unit, o.Health)
		return nil
	}
	start := time.Now()
	status, err := preflight.Check(ctx, exec.CommandContext(ctx, argv[0], argv[1:]...))
	if err != nil {
		return fmt.Errorf("%s left untouched, the old code serves on: the new code fails its pre-flight (%s imported as %s runs, in %s): %w", o.Unit, app.Spec, name, since(start), err)
	}
	say("pre-flight: %s imports as %s runs, and %s (%s)", app.Spec, o.Unit, status, since(start))
	return nil
}
