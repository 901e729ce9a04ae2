package check

// The processes of the app's Procfile: each command split and its program
// found as its unit will run it, its row of the table (celery multi
// refused), and, for the units installed, the facts the table gives
// (package server: celery.go, rq.go): ExecReload= where HUP kills or
// re-execs, KillMode= where TERM must reach the main process only,
// TimeoutStopSec= against the longest task.

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/procfile"
	"github.com/runapp/runapp/server"
	"github.com/runapp/runapp/unitfile"
	"github.com/runapp/runapp/unitgen"
)

// defaultTimeoutStop is systemd's DefaultTimeoutStopSec=, for a unit that
// sets no TimeoutStopSec=.
const defaultTimeoutStop = 90 * time.Second

// defaultLongestTask is what a worker's stop is held against without
// --longest-task: a web server's graceful stop, as runapp unit assumes.
const defaultLongestTask = 30 * time.Second

// checkProcfile checks every process of the Procfile, when the app has one
// (or --procfile names one) and the configuration is not one process's
// own (--process, SERVER-ARGS).
func (c *checker) checkProcfile() {
	if !c.opts.Processes {
		return
	}
	cfg := c.opts.Config
	path := launcher.ProcfilePath(c.dir, cfg)
	f, err := launcher.ReadProcfile(path)
	if err != nil {
		if cfg.Procfile == "" && !exists(path) {
			return // no Procfile: an app of one process
		}
		where, msg, fix := procfileProblem(path, err)
		c.add(Error, IDProcfileSyntax, where, msg, fix)
		return
	}
	for _, p := range f.Processes {
		c.checkProcess(f, p)
	}
}

// checkProcess checks one process type: its plan, its row of the table,
// and its installed unit.
func (c *checker) checkProcess(f *procfile.File, p procfile.Process) {
	where := fmt.Sprintf("%s:%d", f.Path, p.Line)
	cfg := c.opts.Config
	cfg.Process, cfg.Procfile = p.Name, f.Path
	// The env files as inspect gave them: refused ones are reported.
	cfg.EnvFiles, cfg.NoEnvFiles = nil, true
	for _, ef := range c.files {
		if ef.entries != nil {
			cfg.EnvFiles, cfg.NoEnvFiles = append(cfg.EnvFiles, ef.name), false
		}
	}
	plan, failures := launcher.Inspect(cfg, c.opts.Environ)
	for _, fl := range failures {
		// The rest (env files, virtualenv, PYTHONPATH) the app's own
		// checks report, and the program of the process they check.
		if fl.Step == launcher.StepProcfile || fl.Step == launcher.StepProgram && p.Name != c.opts.Config.Process {
			w, msg, fix := procfileProblem(f.Path, fl.Err)
			c.add(Error, IDProcfileCommand, w, msg, fix)
		}
	}
	if plan == nil || len(plan.Argv) == 0 {
		return
	}
	srv, err := server.ForProcess(p.Name, plan.Argv)
	if err != nil {
		msg, fix, _ := strings.Cut(err.Error(), "; ")
		c.add(Error, IDProcessSupervisor, where, "process "+p.Name+": "+msg, fix)
		return
	}
	u := c.processUnit(p.Name)
	if u == nil {
		return
	}
	if srv.Kind == server.Release {
		c.add(Error, IDProcessRelease, u.path,
			"the release process runs as a service: it would run again at every start and restart, and the others would not wait for it",
			"remove the unit; runapp deploy runs release before the others restart")
		return
	}
	c.checkProcessUnit(srv, u)
	c.checkInstances(srv, plan, u, where)
}

// checkInstances: the instances of a template unit (NAME-TYPE@.service)
// run one command with one set of env files. A scheduler must run once,
// and a worker named among its peers must take its name from the instance.
func (c *checker) checkInstances(srv *server.Server, plan *launcher.Plan, u *unitFile, where string) {
	if !strings.HasSuffix(u.name, "@") {
		return
	}
	switch srv.Kind {
	case server.Scheduler:
		c.add(Error, IDProcessInstances, u.path,
			fmt.Sprintf("%s is a template: each of its instances runs %s, and every one sends each scheduled task", u.name+".service", srv.Name),
			"run it once, as a plain service (runapp unit --procfile writes one when not given --scale)")
		return
	case server.Worker:
	default:
		return
	}
	args, err := srv.ReadArgs(plan.Argv[1:])
	if err != nil {
		return
	}
	if args.Name != "" {
		sev, what := Warning, "celery merges their replies to remote control and warns of duplicate nodes"
		if srv.NameVar == "" {
			sev, what = Error, srv.Name+" refuses to start a second worker of a name that runs"
		}
		c.add(sev, IDProcessInstances, where,
			fmt.Sprintf("the command names its worker with %s, and every instance of %s runs it: they all take that name (%s)", args.Name, u.name+".service", what),
			"remove it from the Procfile's command (runapp unit --procfile --scale names each instance apart)")
		return
	}
	if srv.NameVar == "" {
		return // each worker names itself apart
	}
	for _, v := range plan.Env {
		if v.Name == srv.NameVar && v.Origin == launcher.FromFile {
			c.add(Warning, IDProcessInstances, v.Where(),
				fmt.Sprintf("%s names the %s, one name for every instance of %s: the env files win over the unit's Environment=", srv.NameVar, srv.Name, u.name+".service"),
				"remove it from the env file; the unit names each instance (runapp unit --procfile --scale writes "+unitgen.InstanceName(srv)+")")
			return
		}
	}
	for _, o := range u.all("Service", "Environment") {
		if strings.Contains(o.Value, srv.NameVar+"=") && namesInstance(o.Value) {
			return
		}
	}
	c.add(Warning, IDProcessInstances, u.path,
		fmt.Sprintf("every instance of %s runs %s under its default name, celery@HOST: celery merges their replies to remote control and warns of duplicate nodes", u.name+".service", srv.Name),
		"add Environment="+unitgen.InstanceName(srv)+" to [Service] (runapp unit --procfile --scale writes it)")
}

// processUnit is the installed unit of a process type, NAME-TYPE.service
// or the template NAME-TYPE@.service, looked for only when every installed
// unit of the app is checked (as root, or with --unit NAME.target).
func (c *checker) processUnit(name string) *unitFile {
	if !c.opts.WholeApp {
		return nil
	}
	app := c.opts.Name
	if app == "" {
		app = filepath.Base(c.dir)
	}
	for _, file := range []string{app + "-" + name + ".service", app + "-" + name + "@.service"} {
		u, err := unitfile.Load(file, c.opts.UnitPath)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			c.add(Error, IDUnitRead, file, fmt.Sprintf("cannot read the unit: %v", unwrapPath(err)), "")
			return nil
		}
		return &unitFile{Unit: u, path: u.Fragment, name: strings.TrimSuffix(u.Name, ".service")}
	}
	return nil
}

// checkProcessUnit holds a process's unit against its row of the table.
func (c *checker) checkProcessUnit(srv *server.Server, u *unitFile) {
	if t, where, ok := u.get("Service", "Type"); ok {
		switch {
		case t == "notify" && srv.NotifySince == "":
			c.add(Error, IDUnitType, where,
				fmt.Sprintf("Type=notify waits for READY=1, which %s never sends: systemd fails the start at TimeoutStartSec= and kills it", srv.Name),
				"use Type=exec (runapp unit --procfile writes it)")
		case t == "forking":
			c.add(Error, IDUnitType, where,
				fmt.Sprintf("Type=forking waits for the started process to fork and exit, but runapp execs %s, which stays in the foreground: systemd times out and kills it", srv.Name),
				"use Type=exec (runapp unit --procfile writes it)")
		}
	}
	if srv.ReloadSignal == "" {
		if sig, where := reloadSignal(u); sig == "HUP" && srv.HUPRestarts {
			c.add(Warning, IDProcessReload, where,
				fmt.Sprintf("ExecReload= sends HUP to %s, which then shuts down warm and execs itself again with the environment it started with: the env files are not read again, and no task runs meanwhile (celery calls it not recommended in production)", srv.Name),
				"remove ExecReload=; apply new code or settings with systemctl restart (TERM is a warm shutdown)")
		} else if sig != "" {
			c.add(Error, IDProcessReload, where,
				fmt.Sprintf("ExecReload= sends %s to %s, which has no handler for it and dies, with the work it runs: systemctl reload kills the service", sig, srv.Name),
				"remove ExecReload=: systemd then refuses systemctl reload as not applicable; apply changes with systemctl restart")
		}
	}
	if srv.MainOnly {
		mode, where, ok := u.get("Service", "KillMode")
		if !ok {
			mode, where = "control-group", u.path
		}
		switch mode {
		case "control-group":
			c.add(Error, IDProcessKillMode, where,
				fmt.Sprintf("KillMode=control-group (systemd's default) sends TERM to %s's children too: they die at once and the tasks they run are lost (celery: WorkerLostError)", srv.Name),
				"use KillMode=mixed: TERM to the main process only, which stops warm; SIGKILL to whatever is left at the timeout")
		case "process":
			c.add(Warning, IDProcessKillMode, where,
				fmt.Sprintf("KillMode=process stops only %s's main process: children still running at the timeout are left outside the service", srv.Name),
				"use KillMode=mixed")
		}
	}
	if srv.Kind == server.Worker {
		c.checkStopTimeout(srv, u)
	}
	for _, o := range u.all("Service", "EnvironmentFile") {
		c.checkUnitEnvFile(o)
	}
}

// checkStopTimeout: a worker's warm shutdown waits for its running tasks,
// with no bound of its own; TimeoutStopSec= must let the longest finish.
func (c *checker) checkStopTimeout(srv *server.Server, u *unitFile) {
	timeout, where := defaultTimeoutStop, u.path
	if v, w, ok := u.get("Service", "TimeoutStopSec"); ok {
		d, err := unitfile.ParseTimespan(v)
		if err != nil || d == 0 {
			return // infinity, or one systemd refuses itself
		}
		timeout, where = d, w
	}
	longest, given := c.opts.LongestTask, true
	if longest == 0 {
		longest, given = defaultLongestTask, false
	}
	if timeout > longest {
		return
	}
	sev, fix := Error, fmt.Sprintf("set TimeoutStopSec= longer than %s (runapp unit --procfile --longest-task %s writes it)", longest, longest)
	if !given {
		sev, fix = Warning, "give the longest task with --longest-task DURATION, and set TimeoutStopSec= longer (runapp unit --procfile --longest-task writes it)"
	}
	c.add(sev, IDProcessTimeout, where,
		fmt.Sprintf("TimeoutStopSec=%s: %s's warm shutdown waits for running tasks, and systemd kills it, with tasks still running, after %s, shorter than the longest task (%s)", timeout, srv.Name, timeout, longest),
		fix)
}

// reloadSignal is the signal an ExecReload=/bin/kill ... $MAINPID sends,
// and where; "" when there is none or it is a command of its own.
func reloadSignal(u *unitFile) (sig, where string) {
	reload := u.all("Service", "ExecReload")
	if len(reload) == 0 {
		return "", ""
	}
	last := reload[len(reload)-1]
	argv, err := unitfile.SplitCommand(last.Value, "%d")
	if err != nil || len(argv) < 2 || filepath.Base(argv[0]) != "kill" || argv[len(argv)-1] != "$MAINPID" {
		return "", ""
	}
	// kill -HUP, -s HUP, -sHUP, --signal HUP.
	sig = "TERM"
	args := argv[1 : len(argv)-1]
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case (a == "-s" || a == "--signal") && i+1 < len(args):
			sig = args[i+1]
			i++
		case strings.HasPrefix(a, "-s"):
			sig = a[2:]
		case strings.HasPrefix(a, "-"):
			sig = a[1:]
		}
	}
	return strings.TrimPrefix(strings.ToUpper(sig), "SIG"), last.Where()
}

// procfileProblem splits an error about the Procfile at path into where
// ("PATH:LINE" when it names a line, else the path), message and fix.
func procfileProblem(path string, err error) (where, msg, fix string) {
	where, msg = path, err.Error()
	if rest, ok := strings.CutPrefix(msg, path+":"); ok {
		if line, text, ok := strings.Cut(rest, ": "); ok {
			where, msg = path+":"+line, text
		}
	}
	msg, fix, _ = strings.Cut(msg, "; ")
	return where, msg, fix
}

// namesInstance says whether value holds a specifier that differs between
// a template's instances: %i, %I, %n or %N.
func namesInstance(value string) bool {
	for _, s := range []string{"%i", "%I", "%n", "%N"} {
		if strings.Contains(value, s) {
			return true
		}
	}
	return false
}
