package check

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/runapp/runapp/internal/running"
	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/server"
)

// What makes systemctl reload not do what the operator expects of it:
// a reload that cannot load new code, and a change that only a restart
// applies.

// checkPreload: with preload_app gunicorn's master process has loaded the
// application before it forks the workers, and a HUP forks new workers
// from it: with the old code.
func (c *checker) checkPreload(g *gunicornSettings) {
	if c.unit == nil {
		return
	}
	s, ok := g.get("preload_app")
	if !ok || !s.known || !server.GunicornTrue(s.last()) {
		return
	}
	for _, o := range c.unit.all("Service", "ExecReload") {
		if strings.Contains(o.Value, "HUP") {
			c.add(Warning, IDGunicornPreloadReload, s.where,
				fmt.Sprintf("preload_app is on: gunicorn's master process loaded the application once, and the HUP that ExecReload= sends (%s) starts workers from it, with the old code: a reload does not deploy new code", o.Where()),
				"deploy new code with a restart (runapp deploy restarts when preload_app is on), or turn preload_app off")
			return
		}
	}
}

// checkPending: the running server started with another environment than
// the one the env files give now. A reload keeps the old one; only a
// restart applies it. Judged only for the unit systemd runs, when runapp
// may read the main process's environment (as root).
func (c *checker) checkPending() {
	if c.unit == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unit := c.unit.name + ".service"
	sys, err := running.Connect(ctx)
	if err != nil {
		return
	}
	defer sys.Close()
	svc, err := sys.Load(ctx, unit)
	if err != nil || !svc.Active() || svc.FragmentPath != c.unit.Fragment || svc.EnvironReadable() != nil {
		return
	}
	inherited, err := svc.Inherited()
	if err != nil {
		return // a start fails on it, or runapp may not read it: nothing to tell
	}
	plan, err := launcher.Build(c.opts.Config, inherited)
	if err != nil {
		return // reported by the other checks
	}
	changes := svc.EnvChanges(plan)
	if len(changes) == 0 {
		return
	}
	names := make([]string, len(changes))
	for i, ch := range changes {
		names[i] = ch.String()
	}
	c.add(Warning, IDUnitEnvPending, c.unit.path,
		fmt.Sprintf("the running server (MainPID %d) started with another environment than it would get now: %s; systemctl reload keeps the old one", svc.MainPID, strings.Join(names, ", ")),
		fmt.Sprintf("restart to apply it: runapp deploy does (or systemctl restart %s)", unit))
}
