// Package check finds what would stop a runapp service, or make it misbehave,
// before systemd runs it: env files, the virtualenv, the server, the WSGI
// application, gunicorn's settings and the systemd unit, each problem with
// where it is and how to fix it.
package check

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runapp/runapp/internal/account"
	"github.com/runapp/runapp/launcher"
)

// Severity says whether a problem stops the service (Error) or only
// deserves attention (Warning).
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Problem is one finding. Its JSON form is part of runapp's interface: the
// field names and the meaning of Check identifiers do not change.
type Problem struct {
	Severity Severity `json:"severity"`
	Check    string   `json:"check"`   // e.g. IDEnvFileSyntax
	Where    string   `json:"where"`   // ".env:7", a path, "UNIT:LINE", "SERVER-ARGS"
	Message  string   `json:"message"` // what is wrong; never a value from an env file
	Fix      string   `json:"fix"`     // how to fix it; "" when the message says it all
}

// Report is the outcome of Run.
type Report struct {
	Problems []Problem `json:"problems"` // sorted: errors first, then by place
	Errors   int       `json:"errors"`
	Warnings int       `json:"warnings"`
}

// Options is what to check.
type Options struct {
	Config  launcher.Config // the configuration serve would be given
	Environ []string        // the inherited environment, as os.Environ returns it

	// User is the account the service runs as; default: User= of the unit.
	// Without either, access is checked for nobody but the caller.
	User string
	// Unit is a service unit file to check, with the drop-ins in
	// Unit.d beside it; default: NAME.service as systemd finds it on
	// UnitPath, with its drop-ins, when there is one.
	Unit string
	// Name is the unit's name without ".service"; default: the app
	// directory's base name.
	Name string
	// UnitPath is where installed units are looked for, in order;
	// default unitfile.SystemPath().
	UnitPath []string
	// Import asks the virtualenv's Python to find the WSGI module, besides
	// looking for its file.
	Import bool
	// Timeout bounds each Python run; default 10 seconds.
	Timeout time.Duration
	// Processes checks every process of the Procfile (Config.Procfile,
	// default Procfile), when there is one.
	Processes bool
	// WholeApp checks the installed unit of every process of the
	// Procfile, NAME-TYPE.service (as root, or with --unit NAME.target).
	WholeApp bool
	// LongestTask is how long a worker's longest task runs, which its
	// unit's TimeoutStopSec= must exceed; 0: 30 seconds, with a warning.
	LongestTask time.Duration
	// NoSignalEntry says that the running runapp lacks the entry point that
	// records its start signal state (startsig.Captured is false), so the
	// server it execs would not get that state: a warning.
	NoSignalEntry bool
}

// Run runs every check and reports what it found. It changes nothing; it
// runs the virtualenv's Python (python -c pass, and with Import a module
// lookup), as the service user when it can.
func Run(opts Options) *Report {
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	c := &checker{opts: opts, dir: absDir(opts.Config.AppDir)}
	c.run()
	return c.report()
}

// checker holds what every check reads: the options, what run's first
// steps load, and the problems found. What one check learns for another
// is not kept here: run passes it along (see run).
type checker struct {
	opts     Options
	problems []Problem
	dir      string // the absolute app directory, before the plan exists

	// Each loaded once, by loadUnit, loadUser, checkEnvFiles and inspect,
	// and only read after.
	unit  *unitFile        // nil when no unit is known
	user  *account.Account // nil when no service user is known
	files []*envFile
	plan  *launcher.Plan

	// asService says whether programs run as the service user (exec,
	// probe): set by run only, once checkAppDir has said whether the user
	// can enter the app directory, before any check that runs one.
	asService bool

	// blocked are the directories the service user cannot pass, reported
	// once each (access).
	blocked map[string]bool
}

// leftOver is what building the plan found that later checks report in
// their own words, fall back to, or do not say again.
type leftOver struct {
	venv    error // launcher's reason the virtualenv cannot be used: checkVenv
	program error // launcher's reason the program cannot run: checkServer
	// appReported: launcher found no WSGI module to run, and inspect said
	// so; checkApp does not say it again.
	appReported bool
}

func (c *checker) add(sev Severity, check, where, msg, fix string) {
	c.problems = append(c.problems, Problem{sev, check, where, msg, fix})
}

// run runs the checks in the order their findings are needed: the unit
// and the user first (the unit may name the user; access checks need the
// user), the app directory and env files before the plan (the plan is
// built from the accepted files only), then what the plan names.
//
// What a check learns that later checks need, it returns, and run hands
// it to them:
//   - checkAppDir: whether the service user can enter the app directory;
//     from it run sets asService, before anything runs Python.
//   - inspect: leftOver, launcher's reasons the virtualenv and the program
//     cannot be used (for checkVenv and checkServer to say better) and
//     whether it reported a missing app (so checkApp does not again).
//   - checkVenv: whether the virtualenv's Python does not run, reported
//     once, so checkServer and checkApp do not run it again.
func (c *checker) run() {
	c.checkRunapp()
	c.loadUnit()
	c.loadUser()
	enter := true
	if fi, err := os.Stat(c.dir); err == nil && fi.IsDir() {
		// Else launcher says what is wrong with it, and the env files,
		// relative to it, wait for that to be fixed.
		enter = c.checkAppDir()
		c.checkEnvFiles()
	}
	// Python runs as the service user when check runs as root and the
	// user can enter the app directory (if not, that is reported, and
	// Python runs as root to learn what else is wrong).
	c.asService = c.user != nil && os.Geteuid() == 0 && c.user.UID != 0 && enter
	left, ok := c.inspect()
	if !ok {
		return
	}
	pyBroke := c.checkVenv(left.venv)
	venvBroken := pyBroke || left.venv != nil
	c.checkPythonPath()
	c.checkServer(left.program, venvBroken, pyBroke)
	srv := c.server()
	switch {
	case srv != nil && srv.Name == "gunicorn":
		c.checkGunicorn(left.appReported, pyBroke)
	case srv != nil:
		c.checkServerArgs(srv)
	}
	if c.unit != nil {
		if srv != nil {
			c.checkServerUnit(srv)
		}
		c.checkUnit()
		c.checkPending()
	}
	c.checkProcfile()
}

// inspect builds the plan from the accepted env files only, so that one
// refused file (already reported) does not hide what the others set. It
// reports what it can and returns the rest; ok is false when there is no
// plan to check.
func (c *checker) inspect() (left leftOver, ok bool) {
	cfg := c.opts.Config
	cfg.EnvFiles = nil
	for _, f := range c.files {
		if f.entries != nil {
			cfg.EnvFiles = append(cfg.EnvFiles, f.name)
		}
	}
	// An empty list would mean the default .env.
	cfg.NoEnvFiles = len(cfg.EnvFiles) == 0
	plan, failures := launcher.Inspect(cfg, c.opts.Environ)
	c.plan = plan
	for _, f := range failures {
		c.failure(f, &left)
	}
	if plan != nil {
		if err := plan.CheckSize(); err != nil {
			// The limit execve puts on the environment (E2BIG), as serve
			// and env report it.
			msg, fix, _ := strings.Cut(err.Error(), "; ")
			c.add(Error, IDEnvSize, "environment", msg, fix)
		}
	}
	return left, plan != nil
}

// failure reports what stopped one step of the plan, in launcher's words,
// unless a check of its own says it better.
func (c *checker) failure(f launcher.Failure, left *leftOver) {
	msg, fix, _ := strings.Cut(f.Err.Error(), "; ")
	where := ""
	check := string(f.Step)
	switch f.Step {
	case launcher.StepAppDir:
		check, where = IDAppDirMissing, c.opts.Config.AppDir
		if where == "" {
			where = "."
		}
	case launcher.StepEnvFiles:
		// Every file was read and parsed already; reported there.
		return
	case launcher.StepVenv:
		left.venv = f.Err // checkVenv says it, or why more precisely
		return
	case launcher.StepPythonPath:
		check, where = IDPythonPathMissing, "--pythonpath"
		if fix == "" {
			fix = "create the directory, or drop the flag"
		}
	case launcher.StepProgram:
		left.program = f.Err // checkServer says why, or falls back to this
		return
	case launcher.StepApp:
		check, where = IDAppDetect, "SERVER-ARGS"
		left.appReported = true
	case launcher.StepProcfile:
		if c.opts.Processes && launcher.ExitCode(f.Err) != launcher.ExitUsage {
			return // checkProcfile says it, for every process
		}
		check = IDProcfileCommand
		where, msg, fix = procfileProblem(launcher.ProcfilePath(c.dir, c.opts.Config), f.Err)
		if launcher.ExitCode(f.Err) == launcher.ExitUsage {
			where = "--process"
		}
	}
	c.add(Error, check, where, msg, fix)
}

func (c *checker) report() *Report {
	r := &Report{Problems: c.problems}
	if r.Problems == nil {
		r.Problems = []Problem{}
	}
	sort.SliceStable(r.Problems, func(i, j int) bool { return less(r.Problems[i], r.Problems[j]) })
	// Every problem once: two checks may reach the same conclusion.
	uniq := r.Problems[:0]
	for i, p := range r.Problems {
		if i > 0 && p == r.Problems[i-1] {
			continue
		}
		uniq = append(uniq, p)
	}
	r.Problems = uniq
	for _, p := range r.Problems {
		if p.Severity == Error {
			r.Errors++
		} else {
			r.Warnings++
		}
	}
	return r
}

// less orders problems: errors first, then by place (a file's lines in
// numeric order), then by check and message.
func less(a, b Problem) bool {
	if a.Severity != b.Severity {
		return a.Severity == Error
	}
	af, al := splitWhere(a.Where)
	bf, bl := splitWhere(b.Where)
	if af != bf {
		return af < bf
	}
	if al != bl {
		return al < bl
	}
	if a.Check != b.Check {
		return a.Check < b.Check
	}
	return a.Message < b.Message
}

func splitWhere(w string) (string, int) {
	if i := strings.LastIndexByte(w, ':'); i >= 0 {
		if n, err := strconv.Atoi(w[i+1:]); err == nil {
			return w[:i], n
		}
	}
	return w, 0
}

// WriteText writes one line per problem, "SEVERITY  WHERE  MESSAGE; FIX",
// aligned, then a summary line.
func (r *Report) WriteText(w io.Writer) error {
	width := 0
	for _, p := range r.Problems {
		width = max(width, len(p.Where))
	}
	var b strings.Builder
	for _, p := range r.Problems {
		text := p.Message
		if p.Fix != "" {
			text += "; " + p.Fix
		}
		fmt.Fprintf(&b, "%-7s  %-*s  %s\n", p.Severity, width, p.Where, text)
	}
	fmt.Fprintf(&b, "%s, %s\n", plural(r.Errors, "error"), plural(r.Warnings, "warning"))
	_, err := io.WriteString(w, b.String())
	return err
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// absDir is the absolute app directory of the configuration.
func absDir(dir string) string {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	return abs
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
