package main

import (
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/procfile"
	"github.com/runapp/runapp/server"
	"github.com/runapp/runapp/supervise"
)

var startCommand = &command{
	name:     "start",
	summary:  "run the Procfile's processes side by side, for local development",
	synopsis: "runapp start [FLAGS] [PROCESS...]",
	help: `
Runs every process type of the Procfile but release, or the ones named, each
with the environment, virtualenv and program its unit would run, and its
output prefixed by its name. Ctrl-C or SIGTERM stops them all: each gets its stop signal, and SIGKILL
after its stop timeout; a second Ctrl-C kills them at once. When one process
exits the others are stopped, and runapp exits with its status.
`,
	config: true,
	// The Procfile's commands name their programs, and the process types
	// to run are start's arguments.
	without: []string{"server", "process"},
	args:    anyArgs,
	declare: func(fs *flag.FlagSet, cfg *launcher.Config) runFunc {
		noColor := fs.Bool("no-color", false, "no colours, even on a terminal (as NO_COLOR in the environment)")
		port := fs.Int("port", 0, "the base `PORT`: the Procfile's first process type gets it, each one after it 100 more (default: PORT from the env files, else inherited, else 5000)")
		return func(names []string, stdout, _ io.Writer) error {
			return runStart(cfg, names, *port, !*noColor && os.Getenv("NO_COLOR") == "" && isTerminal(stdout), stdout)
		}
	},
}

// runStart builds the plan of each process before it starts any, so that a
// mistake in any of them starts none, then hands them to supervise.
func runStart(cfg *launcher.Config, names []string, port int, colour bool, stdout io.Writer) error {
	if port < 0 || port > 65535-100 {
		return usageErr("start: --port %d is not a port number that leaves room for more process types", port)
	}
	appDir, err := launcher.AppDirectory(cfg.AppDir)
	if err != nil {
		return err
	}
	f, err := launcher.ReadProcfile(launcher.ProcfilePath(appDir, *cfg))
	if err != nil {
		return err
	}
	run, err := selectProcesses(f, names)
	if err != nil {
		return err
	}
	environ := os.Environ()
	base, err := basePort(*cfg, run[0].Name, port, environ)
	if err != nil {
		return err
	}
	procs := make([]supervise.Process, len(run))
	for i, p := range run {
		c := *cfg
		c.Args = nil
		c.Process = p.Name
		c.Port = base + 100*p.index
		plan, err := launcher.Build(c, environ)
		if err != nil {
			return err
		}
		if procs[i], err = supervised(plan, p.index); err != nil {
			return err
		}
	}
	err = supervise.Run(procs, supervise.Options{Output: stdout, Colour: colour})
	var exit *supervise.ExitError
	switch {
	case errors.As(err, &exit):
		return &launcher.Error{Code: exit.Code, Err: exit}
	case errors.Is(err, fs.ErrNotExist):
		return &launcher.Error{Code: launcher.ExitNotFound, Err: err}
	case err != nil:
		return &launcher.Error{Code: launcher.ExitCannotRun, Err: err}
	}
	return nil
}

// indexed is a process type with its place in the Procfile, which sets
// its PORT and its colour.
type indexed struct {
	procfile.Process
	index int
}

// selectProcesses returns, in the Procfile's order, the process types
// named, or every one but release (Heroku's release phase runs once per
// deploy, not beside the app).
func selectProcesses(f *procfile.File, names []string) ([]indexed, error) {
	for _, name := range names {
		if _, ok := f.Lookup(name); !ok {
			return nil, launcher.Errorf(launcher.ExitConfig, "start: %s has no process %s (it has %s)", f.Path, name, strings.Join(f.Names(), ", "))
		}
	}
	var run []indexed
	for i, p := range f.Processes {
		if len(names) == 0 && p.Name != "release" || slices.Contains(names, p.Name) {
			run = append(run, indexed{p, i})
		}
	}
	if len(run) == 0 {
		return nil, launcher.Errorf(launcher.ExitConfig, "start: %s has no process type to start but release; name it to run it: runapp start release", f.Path)
	}
	return run, nil
}

// basePort is PORT for the Procfile's first process type, as foreman
// decides it: --port, else PORT from the env files, else the inherited
// PORT, else 5000. Each process type after the first gets 100 more
// (launcher.Port), whatever PORT the environment has.
func basePort(cfg launcher.Config, name string, port int, environ []string) (int, error) {
	if port != 0 {
		return port, nil
	}
	cfg.Args = nil
	cfg.Process = name
	plan, err := launcher.Build(cfg, environ)
	if err != nil {
		return 0, err
	}
	v, ok := plan.Lookup("PORT")
	if !ok || v.Origin == launcher.ByRunapp {
		return launcher.Port(0, 0), nil
	}
	n, err := strconv.Atoi(v.Value)
	if err != nil || n <= 0 || n > 65535-100 {
		return 0, launcher.Errorf(launcher.ExitConfig, "start: PORT %q (%s) is not a port number to count process types' ports from; set a number, or give --port", v.Value, v.Where())
	}
	return n, nil
}

// supervised is the process supervise runs for plan.
func supervised(plan *launcher.Plan, index int) (supervise.Process, error) {
	p := supervise.Process{
		Name:   plan.Process,
		Path:   plan.Program,
		Argv:   plan.Argv,
		Env:    plan.Environ(),
		Dir:    plan.Dir,
		Colour: index,
	}
	var err error
	p.StopSignal, p.MainOnly, p.StopTimeout, err = stopFacts(plan)
	return p, err
}

// isTerminal says whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// stopFacts says how start stops plan's process: as its unit does (see
// unitgen), SIGTERM to its main process alone (KillMode=mixed: gunicorn's
// master stops its workers itself, and a celery or rq worker's warm shutdown
// lets its running tasks finish, which its children, told themselves, would
// lose), and SIGKILL to its process group after the unit's TimeoutStopSec=
// (with no --longest-task). An error says the table refuses the command
// (celery multi, which leaves its process at once).
func stopFacts(plan *launcher.Plan) (syscall.Signal, bool, time.Duration, error) {
	srv, err := server.ForProcess(plan.Process, plan.Argv)
	if err != nil {
		return 0, false, 0, launcher.Errorf(launcher.ExitConfig, "%s:%d: process %s: %v", plan.Procfile, plan.Line, plan.Process, err)
	}
	var args *server.Args
	if a, err := srv.ReadArgs(plan.Argv[1:]); err == nil {
		args = &a
	}
	return unix.SIGTERM, true, server.StopTimeout(args, 0), nil
}
