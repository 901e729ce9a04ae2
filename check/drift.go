package check

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/runapp/runapp/internal/running"
	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/server"
	"github.com/runapp/runapp/unitfile"
	"github.com/runapp/runapp/unitgen"
)

// listOption says whether the unit option name is a set of words, so that
// one line or several, in any order, mean the same.
func listOption(name string) bool {
	switch name {
	case "After", "Wants", "Requires", "Before", "WantedBy",
		"RestartPreventExitStatus", "RestrictAddressFamilies", "ReadWritePaths",
		"CapabilityBoundingSet", "AmbientCapabilities", "SystemCallFilter",
		"RuntimeDirectory", "LoadCredential", "EnvironmentFile":
		return true
	}
	return false
}

// unitOptions is a unit's options by section and name, each normalised to
// what systemd uses: the last value, or for a list the set of its words.
type unitOptions map[[2]string]string

// normalise returns the options normalised, their order, and each one's
// value as written (the lines of a list joined), to show.
func normalise(opts []unitfile.Option) (m, written unitOptions, order [][2]string) {
	m, written = unitOptions{}, unitOptions{}
	for _, o := range opts {
		k := [2]string{o.Section, o.Name}
		if _, seen := m[k]; !seen {
			order = append(order, k)
		}
		v := strings.TrimSpace(o.Value)
		if !listOption(o.Name) || v == "" {
			written[k] = v
			switch {
			case o.Name == "WorkingDirectory" && filepath.IsAbs(v):
				v = filepath.Clean(v) // a trailing slash means the same
			case o.Name == "ExecReload" && sendsHUP(v):
				v = "kill -HUP $MAINPID" // in any of kill's forms, as deploy reads it
			}
			m[k] = v
			continue
		}
		words := strings.Fields(m[k] + " " + v)
		sort.Strings(words)
		m[k] = strings.Join(slices.Compact(words), " ")
		written[k] = strings.TrimSpace(written[k] + " " + v)
	}
	return m, written, order
}

// generated is what runapp unit writes for this configuration at one
// hardening level.
type generated struct {
	level   unitgen.Hardening
	opts    unitOptions
	written unitOptions
	order   [][2]string
}

// checkDrift compares the unit with what runapp unit would write for the
// configuration being checked. What only the unit can say (user, group,
// socket, writable paths, After=, env files given to systemd, hardening
// level) is taken from the unit itself, so that what differs is what
// runapp unit would write otherwise: the options it writes that the unit
// lacks or sets otherwise. Options the unit adds are its own business,
// unless a pitfall check says otherwise.
func (c *checker) checkDrift() {
	o, versionUnknown, ok := c.unitgenOptions()
	if !ok {
		return
	}
	var levels []generated
	for _, h := range []unitgen.Hardening{unitgen.Strict, unitgen.Basic, unitgen.None} {
		o.Hardening = h
		text, err := unitgen.Service(o)
		if err != nil {
			msg, fix, _ := strings.Cut(err.Error(), "; ")
			c.add(Warning, IDUnitDrift, c.unit.path, "runapp unit cannot write a unit for this configuration to compare with: "+msg, fix)
			return
		}
		opts, err := unitfile.Parse(o.Name+".service", []byte(text))
		if err != nil {
			return
		}
		m, written, order := normalise(opts)
		levels = append(levels, generated{h, m, written, order})
	}
	have, haveWritten, _ := normalise(c.unit.Options)
	// Without gunicorn's version, the unit's Type= cannot be judged.
	if versionUnknown {
		for i := range levels {
			delete(levels[i].opts, [2]string{"Service", "Type"})
			delete(levels[i].opts, [2]string{"Service", "NotifyAccess"})
		}
	}
	// An option a check has reported already is not reported again.
	for _, p := range c.problems {
		for _, name := range reportedOptions(p.Check) {
			for i := range levels {
				delete(levels[i].opts, [2]string{"Service", name})
			}
		}
	}

	// Hardening options are those strict writes and none does not; the
	// level compared with is the one the unit is closest to.
	hardening := map[[2]string]bool{}
	for k := range levels[0].opts {
		if _, ok := levels[2].opts[k]; !ok {
			hardening[k] = true
		}
	}
	best := levels[0]
	bestN := -1
	for _, g := range levels {
		// Sandboxing the level does not write counts against it too.
		n := len(differences(g, have))
		for k := range hardening {
			if _, set := have[k]; set && g.opts[k] == "" {
				n++
			}
		}
		if bestN < 0 || n < bestN {
			best, bestN = g, n
		}
	}

	var lacking []string
	for _, k := range differences(best, have) {
		want := best.written[k]
		got, present := haveWritten[k]
		if hardening[k] {
			lacking = append(lacking, k[1]+"="+want)
			continue
		}
		_, where, _ := c.unit.get(k[0], k[1])
		if !present {
			c.add(Warning, IDUnitDrift, c.unit.path,
				fmt.Sprintf("the unit has no %s=, which runapp unit writes for this configuration", k[1]),
				fmt.Sprintf("add %s=%s to [%s] (runapp unit prints the whole unit)", k[1], want, k[0]))
			continue
		}
		c.add(Warning, IDUnitDrift, where,
			fmt.Sprintf("%s=%s differs from what runapp unit writes for this configuration", k[1], got),
			fmt.Sprintf("%s=%s (runapp unit prints the whole unit)", k[1], want))
	}
	if best.level == unitgen.None {
		var strict []string
		for _, k := range levels[0].order {
			if hardening[k] {
				strict = append(strict, k[1]+"=")
			}
		}
		c.add(Warning, IDUnitHardening, c.unit.path,
			"the unit has no sandboxing: a compromised app can do whatever its user can, anywhere on the machine",
			fmt.Sprintf("start from runapp unit --hardening strict (%s), or basic, which never breaks a normal app", strings.Join(strict, ", ")))
	} else if len(lacking) > 0 {
		c.add(Warning, IDUnitHardening, c.unit.path,
			fmt.Sprintf("the unit lacks %d sandboxing option(s) of runapp unit --hardening %s, or sets them otherwise", len(lacking), best.level),
			"add "+strings.Join(lacking, ", "))
	}
}

// reportedOptions are the unit options check is about.
func reportedOptions(check string) []string {
	switch check {
	case IDUnitType:
		return []string{"Type", "NotifyAccess"}
	case IDUnitKillMode:
		return []string{"KillMode"}
	case IDUnitReload:
		return []string{"ExecReload"}
	case IDUnitEnvironmentFile:
		return []string{"EnvironmentFile"}
	case IDUnitExecStart:
		return []string{"ExecStart"}
	case IDUserUnknown:
		return []string{"User", "Group"}
	case IDGunicornGracefulTimeout:
		return []string{"TimeoutStopSec"}
	case IDGunicornBind:
		return []string{"AmbientCapabilities", "CapabilityBoundingSet"}
	}
	return nil
}

// differences are the options g writes that have lack or set otherwise,
// in g's order; the description is the unit's to choose.
func differences(g generated, have unitOptions) [][2]string {
	var diff [][2]string
	for _, k := range g.order {
		if k[1] == "Description" {
			continue
		}
		want, generated := g.opts[k]
		if !generated {
			continue // reported by another check
		}
		if got, ok := have[k]; !ok || got != want {
			diff = append(diff, k)
		}
	}
	return diff
}

// unitgenOptions is what runapp unit would be given to write this unit;
// versionUnknown says the server did not tell its version, on which the
// unit's Type= depends. ok is false when runapp unit would write no unit.
func (c *checker) unitgenOptions() (o unitgen.Options, versionUnknown, ok bool) {
	u := c.unit
	o = unitgen.Options{Config: c.opts.Config, Name: u.name}
	o.Config.AppDir = c.plan.Dir
	o.Config.Args = c.opts.Config.Args
	o.Description, _, _ = u.get("Unit", "Description")
	o.User, _, _ = u.get("Service", "User")
	if c.opts.User != "" {
		o.User = c.opts.User
	}
	if o.User == "" {
		return o, false, false // unit.user says so; runapp unit needs a user
	}
	o.Group, _, _ = u.get("Service", "Group")
	if exec, _, ok := u.get("Service", "ExecStart"); ok {
		if prog := execProgram(exec); strings.HasPrefix(filepath.Base(prog), "runapp") {
			o.Runapp = prog
		}
	}
	if o.Runapp == "" {
		o.Runapp = "/usr/local/bin/runapp"
		if self, err := launcher.Executable(); err == nil {
			o.Runapp = self
		}
	}
	if socket := c.socketUnit(); socket != nil {
		if listen := socket.List("Socket", "ListenStream"); len(listen) > 0 {
			o.Listen = listen[0].Value
		}
	}
	for _, w := range u.all("Service", "ReadWritePaths") {
		for _, p := range strings.Fields(w.Value) {
			if filepath.IsAbs(strings.TrimLeft(p, "-+")) && !slices.Contains(o.Writable, p) {
				o.Writable = append(o.Writable, p)
			}
		}
	}
	own := func(n string) bool { return n == "network.target" || n == u.name+".socket" }
	for _, a := range u.all("Unit", "After") {
		for _, n := range strings.Fields(a.Value) {
			if !own(n) {
				o.After = append(o.After, n)
			}
		}
	}
	for _, a := range u.all("Unit", "Wants") {
		o.Wants = append(o.Wants, strings.Fields(a.Value)...)
	}
	o.EnvironmentFile = len(u.all("Service", "EnvironmentFile")) > 0
	o.Credential = len(u.all("Service", "LoadCredential")) > 0
	if srv := c.server(); srv != nil && c.plan.Program != "" {
		var err error
		if o.ServerVersion, err = srv.Version(c.probe()); err != nil {
			// Type= is not compared then; the rest of the unit still
			// fits the server, whatever its version: one that notifies
			// stands in for it, rather than a unit that assumes
			// nothing of the server.
			versionUnknown = true
			o.ServerVersion = cmp.Or(srv.NotifySince, server.AnyVersion)
		}
	}
	return o, versionUnknown, true
}

// sendsHUP says whether an ExecReload= value sends HUP to the main
// process, as deploy judges it.
func sendsHUP(v string) bool {
	argv, err := unitfile.SplitCommand(v, "%d")
	return err == nil && len(argv) > 0 && running.SendsHUP(argv[0], argv)
}

// execProgram is the program of an ExecStart= value, split and unquoted
// as systemd does (a %d in it left as written), "" when systemd would
// refuse the line.
func execProgram(v string) string {
	argv, err := unitfile.SplitCommand(v, "%d")
	if err != nil || len(argv) == 0 {
		return ""
	}
	return argv[0]
}
