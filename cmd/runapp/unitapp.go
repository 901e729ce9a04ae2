package main

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/procfile"
	"github.com/runapp/runapp/server"
	"github.com/runapp/runapp/unitgen"
)

// appFlags are unit's flags for the processes of a Procfile.
type appFlags struct {
	longestTask  time.Duration
	scale, every []string
}

// runUnitApp prints (or writes) the units of every process type of the
// Procfile and the app's target.
func runUnitApp(cfg *launcher.Config, o unitgen.Options, app appFlags, hardening, version, write string, stdout, stderr io.Writer) error {
	if len(cfg.Args) > 0 {
		return usageErr("with --procfile the Procfile's commands are run as written: no SERVER-ARGS (got %q)", cfg.Args[0])
	}
	if cfg.Server != "" {
		return usageErr("with --procfile the Procfile's commands name the programs: drop --server")
	}
	if app.longestTask < 0 {
		return usageErr("--longest-task %s: want a positive duration such as 10m", app.longestTask)
	}
	noSocket, err := prepareUnit(cfg, &o, hardening)
	if err != nil {
		return err
	}
	dir := cfg.AppDir
	f, err := launcher.ReadProcfile(launcher.ProcfilePath(dir, *cfg))
	if err != nil {
		return err
	}
	scale, err := typeFlags(f, "--scale", app.scale)
	if err != nil {
		return err
	}
	every, err := typeFlags(f, "--every", app.every)
	if err != nil {
		return err
	}
	as, err := serviceAccount(&o, dir)
	if err != nil {
		return err
	}
	a := unitgen.App{Options: o, LongestTask: app.longestTask}
	for _, p := range f.Processes {
		pcfg := *cfg
		pcfg.Process = p.Name
		argv, err := processArgv(pcfg, p, stderr)
		if err != nil {
			return err
		}
		srv, err := server.ForProcess(p.Name, argv)
		if err != nil {
			return launcher.Errorf(launcher.ExitConfig, "%s:%d: process %s: %v", f.Path, p.Line, p.Name, err)
		}
		ap := unitgen.AppProcess{Name: p.Name, Argv: argv, Calendar: every[p.Name]}
		if n, ok := scale[p.Name]; ok {
			if ap.Scale, err = strconv.Atoi(n); err != nil || ap.Scale < 1 {
				return usageErr("--scale %s=%s: want a number of instances, 1 or more", p.Name, n)
			}
		}
		switch {
		case srv.Kind == server.Release:
			if ap.Scale > 0 || ap.Calendar != "" {
				return usageErr("process release runs at deploy, never as a service: it takes no --scale or --every")
			}
			fmt.Fprintf(stderr, "runapp: unit: %s:%d: process release gets no unit: runapp deploy runs it before the others restart\n", f.Path, p.Line)
		case ap.Scale > 0 && ap.Calendar != "":
			return usageErr("process %s has both --scale and --every: a scheduled job runs once at a time", p.Name)
		case srv.Kind == server.Web && (ap.Scale > 0 || ap.Calendar != ""):
			return usageErr("process %s is a web server (%s), which runs as one service with its socket: it takes no --scale or --every (give it more workers instead)", p.Name, srv.Name)
		case srv.Kind == server.Web && a.ServerVersion == "":
			if a.ServerVersion, err = serverVersion(pcfg, argv[0], version, as, stderr); err != nil {
				return err
			}
		case srv.Kind == server.Scheduler && ap.Scale > 0:
			return usageErr("process %s is a scheduler (%s): each one running sends every scheduled task, so it runs once, as one service; it takes no --scale", p.Name, srv.Name)
		case ap.Scale > 1:
			if a, err := srv.ReadArgs(argv[1:]); err == nil && a.Name != "" {
				fix := "each instance then names itself uniquely"
				if srv.NameVar != "" {
					fix = fmt.Sprintf("each instance is then named %s-%s-I@HOST (%s in its unit)", o.Name, p.Name, srv.NameVar)
				}
				return usageErr("%s:%d: process %s names its worker with %s, so its %d instances would all take that one name (%s); remove it: %s", f.Path, p.Line, p.Name, a.Name, ap.Scale, srv.Name, fix)
			}
		}
		if ap.Calendar != "" {
			if err := checkCalendar(ap.Calendar); err != nil {
				return err
			}
		}
		if srv.Kind == server.Web && a.Listen == "" && !noSocket {
			a.Listen = unitgen.DefaultListen(unitgen.Options{ServerVersion: a.ServerVersion, Process: &unitgen.Process{Argv: argv}})
		}
		a.Processes = append(a.Processes, ap)
	}
	files, err := unitgen.Units(a)
	if err != nil {
		return err
	}
	if write == "" {
		for i, f := range files {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			fmt.Fprint(stdout, f.Text)
		}
		return nil
	}
	m := map[string]string{}
	for _, f := range files {
		m[f.Name] = f.Text
	}
	if err := writeUnits(stdout, write, m); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "runapp: unit: start, stop and enable the app as one with systemctl enable --now %[1]s.target, systemctl stop %[1]s.target\n", o.Name)
	return nil
}

// processArgv is the process's command as its unit will run it: split and
// expanded in the planned environment. Env files that are refused or
// missing only warn, as for the server's version: runapp check is the
// place for them.
func processArgv(cfg launcher.Config, p procfile.Process, stderr io.Writer) ([]string, error) {
	plan, failures := launcher.Inspect(cfg, nil)
	for _, f := range failures {
		switch f.Step {
		case launcher.StepProcfile, launcher.StepAppDir:
			return nil, f.Err
		case launcher.StepEnvFiles:
			first, _, _ := strings.Cut(f.Err.Error(), "\n")
			fmt.Fprintf(stderr, "runapp: warning: %s; process %s's command read without the env files\n", first, p.Name)
		}
	}
	if plan == nil || len(plan.Argv) == 0 {
		return nil, launcher.Errorf(launcher.ExitConfig, "process %s: no command", p.Name)
	}
	return plan.Argv, nil
}

// typeFlags reads repeated TYPE=VALUE flags, each TYPE a process type of
// the Procfile, once.
func typeFlags(f *procfile.File, flag string, list []string) (map[string]string, error) {
	m := map[string]string{}
	for _, s := range list {
		name, value, ok := strings.Cut(s, "=")
		switch {
		case !ok || value == "":
			return nil, usageErr("%s %q: want TYPE=VALUE", flag, s)
		case m[name] != "":
			return nil, usageErr("%s names process %s twice", flag, name)
		}
		if _, ok := f.Lookup(name); !ok {
			return nil, usageErr("%s %s: %s has no process %s (it has %s)", flag, s, f.Path, name, strings.Join(f.Names(), ", "))
		}
		m[name] = value
	}
	return m, nil
}

// checkCalendar checks a calendar with systemd's own reader,
// systemd-analyze calendar, when it is installed.
func checkCalendar(calendar string) error {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		return nil // systemd will say it when it loads the timer
	}
	out, err := exec.Command(analyze, "calendar", calendar).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		msg := strings.TrimSpace(string(out))
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return usageErr("--every: %q is not a calendar systemd reads (systemd-analyze calendar: %s); see systemd.time(7), e.g. daily or *-*-* 03:00", calendar, msg)
	}
	return err
}
