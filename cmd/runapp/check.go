package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/runapp/runapp/check"
	"github.com/runapp/runapp/internal/startsig"
	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/procfile"
	"github.com/runapp/runapp/unitfile"
)

const checkSynopsis = "runapp check [FLAGS] [--user USER] [--unit FILE] [--format text|json] [--import] [--container FILE] [-- SERVER-ARGS...]"

const checkHelp = `
Checks the env files (syntax, duplicates, who may read and write them), the
virtualenv (its Python runs), the server (the service user may run it, its #!
interpreter exists and runs), the WSGI module (found on the Python path;
with --import, by the virtualenv's Python), gunicorn's settings from
SERVER-ARGS, GUNICORN_CMD_ARGS and gunicorn.conf.py (read, never run), and the
unit as systemd loads it, drop-ins applied (systemctl cat shows the same):
--unit FILE with the drop-ins in FILE.d beside it, else NAME.service found
first in /etc/systemd/system, /run/systemd/system,
/usr/local/lib/systemd/system, /usr/lib/systemd/system, /lib/systemd/system,
with its drop-ins NAME.service.d/*.conf from all of them.

Without configuration flags or SERVER-ARGS, when the unit's ExecStart= runs
runapp, the configuration checked is the one ExecStart= gives (an env file
passed with LoadCredential= is read where it is loaded from).

With a Procfile in the app directory (or --procfile=FILE), the web process's
command (else the first process's) is the configuration checked, and every
process is checked too: its
command split and its program found as its unit runs it, celery multi and
celery's detach option refused; as root, or with --unit NAME.target, the installed unit of
each (NAME-TYPE.service) is held against the process table: Type=notify for
a program that never sends READY=1, ExecReload= HUP for rq or celery beat
(HUP kills them) or celery worker (HUP re-execs it), KillMode= that sends TERM
to a worker's children, TimeoutStopSec= not longer than --longest-task, an
EnvironmentFile= read differently, a unit for the release process.

Access is judged from the mode bits for the user's uid and the groups systemd
gives the service (Group= instead of the user's primary group, the groups
that list the user, SupplementaryGroups=); ACLs are not evaluated (a problem says so when one is in the way). No value from an
env file is ever printed.

check reads the code's configuration; it does not run the code: --import
finds the module without executing it. runapp deploy then runs the new code
before it touches the service (its pre-flight): as the service starts it, it
imports the application, runs Django's system checks (manage.py check, which
imports the URL conf and every view module it names) and sends GET to the
health path through the application, with no socket. Neither catches code no
request reaches (another view that raises when called), what only the
running server has (its socket, its private /tmp, real traffic), nor a
database the code needs migrated that the release command does not migrate.

With --container FILE, checks the Containerfiles and Kubernetes manifests
named instead: a shell as PID 1 that does not exec the server (a shell-form
ENTRYPOINT or CMD, sh -c without exec), a shell-form CMD after an
ENTRYPOINT, root, and in each workload's pods a terminationGracePeriodSeconds
not longer than the server's graceful stop and preStop pause, a server with
no readinessProbe, root, a writable root file system.

Exit status: 0 when there is no error (warnings allowed), 78 when there is.

Text output: one line per problem, errors first, then a summary:
  SEVERITY  WHERE  MESSAGE; FIX
  N errors, M warnings

JSON output (--format json), a stable shape:
  {"problems": [{"severity": "error" | "warning",
                 "check":    "envfile.syntax",   (what found it; stable ids)
                 "where":    ".env:7",           (FILE:LINE, a path, UNIT:LINE, SERVER-ARGS)
                 "message":  "what is wrong",
                 "fix":      "how to fix it, or empty"}],
   "errors": N, "warnings": M}
`

var checkCommand = &command{
	name:     "check",
	summary:  "find misconfigurations before systemd does",
	synopsis: checkSynopsis,
	help:     checkHelp,
	config:   true,
	args:     serverArgs,
	declare:  checkFlags,
}

// checkFormats are the values --format takes; the first is the default.
var checkFormats = []string{"text", "json"}

// checkFlags declares check's flags.
func checkFlags(fs *flag.FlagSet, cfg *launcher.Config) runFunc {
	opts := check.Options{}
	fs.StringVar(&opts.User, "user", "", "the `USER` the service runs as, whose access is checked (default: User= of the unit)")
	fs.StringVar(&opts.Unit, "unit", "", "the service unit `FILE` to check, with the drop-ins in FILE.d, or NAME.target for every installed unit of the app's Procfile (default: the installed NAME.service, if there is one)")
	fs.StringVar(&opts.Name, "name", "", "the unit `NAME` to look for when --unit is not given (default: the app directory's base name)")
	fs.BoolVar(&opts.Import, "import", false, "ask the virtualenv's Python to find the WSGI module (imports its parent packages, not the module)")
	fs.DurationVar(&opts.LongestTask, "longest-task", 0, "how long a worker's longest task runs (e.g. 10m), which its unit's TimeoutStopSec= must exceed (default: 30s, with a warning)")
	format := fs.String("format", checkFormats[0], "output `FORMAT`: text or json")
	var container []string
	fs.Var(listFlag{&container}, "container", "check this Containerfile, or Kubernetes manifest `FILE` (.yaml, .yml), instead of the configuration; repeatable")
	return func(_ []string, stdout, stderr io.Writer) error {
		if len(container) > 0 {
			return runCheckContainer(fs, cfg, container, *format, stdout)
		}
		return runCheck(fs, cfg, opts, *format, stdout, stderr)
	}
}

// runCheck reports every misconfiguration it finds, before systemd does.
func runCheck(fs *flag.FlagSet, cfg *launcher.Config, opts check.Options, format string, stdout, stderr io.Writer) error {
	if !slices.Contains(checkFormats, format) {
		return usageErr("check: --format must be text or json, not %q", format)
	}
	// --unit NAME.target, or root: every installed unit of the app.
	target := false
	if name, ok := strings.CutSuffix(opts.Unit, ".target"); ok && !strings.Contains(name, "/") {
		opts.Name, opts.Unit, target = name, "", true
	}
	opts.WholeApp = target || os.Geteuid() == 0
	fromUnitGiven := false
	if !commonGiven(fs) && len(cfg.Args) == 0 && !target {
		if u, err := check.FindUnit(opts); err == nil {
			if from, ok := fromUnit(u); ok {
				fmt.Fprintf(stderr, "runapp: check: checking the configuration ExecStart= of %s gives runapp\n", u.Fragment)
				cfg = from
				// check.Run finds it again by this name, not by the
				// app directory ExecStart= names.
				opts.Name = strings.TrimSuffix(u.Name, ".service")
				fromUnitGiven = true
			}
		}
	}
	// An app with a Procfile: every process is checked, and the web
	// process's command (else the first's) is the configuration checked,
	// unless the command line or the unit gives one.
	if cfg.Process == "" && cfg.Server == "" && len(cfg.Args) == 0 {
		dir, _ := filepath.Abs(cmp.Or(cfg.AppDir, "."))
		if f, err := procfile.Read(launcher.ProcfilePath(dir, *cfg)); err == nil || cfg.Procfile != "" {
			opts.Processes = true
			if err == nil && !fromUnitGiven && len(f.Processes) > 0 {
				// An app with no web process (a worker alone) is not
				// checked for a gunicorn it does not run.
				cfg.Process = f.Processes[0].Name
				if _, web := f.Lookup("web"); web {
					cfg.Process = "web"
				}
			}
		}
	}
	opts.Config = *cfg
	opts.Environ = os.Environ()
	opts.NoSignalEntry = !captured()
	return writeReport(check.Run(opts), format, stdout)
}

// runCheckContainer checks the files of --container, and nothing else.
func runCheckContainer(fs *flag.FlagSet, cfg *launcher.Config, files []string, format string, stdout io.Writer) error {
	if !slices.Contains(checkFormats, format) {
		return usageErr("check: --format must be text or json, not %q", format)
	}
	if commonGiven(fs) || len(cfg.Args) > 0 {
		return usageErr("check: --container checks the files it names; the configuration flags and SERVER-ARGS are for the configuration, checked without it")
	}
	report := check.Container(files)
	return writeReport(report, format, stdout)
}

// writeReport writes report in format; an error when it holds one.
func writeReport(report *check.Report, format string, stdout io.Writer) error {
	write := report.WriteText
	if format == "json" {
		write = report.WriteJSON
	}
	if err := write(stdout); err != nil {
		return err
	}
	if report.Errors > 0 {
		return launcher.Errorf(launcher.ExitConfig, "check found %d error(s)", report.Errors)
	}
	return nil
}

// captured is startsig.Captured, which the tests replace: the test binary,
// which plays runapp, is built without the entry point.
var captured = startsig.Captured

// commonGiven says whether any flag of the configuration was given.
func commonGiven(fs *flag.FlagSet) bool {
	given := false
	fs.Visit(func(f *flag.Flag) {
		given = given || slices.Contains(configFlags, f.Name)
	})
	return given
}

// fromUnit is the configuration a unit's ExecStart= gives runapp, when it
// serves with runapp: without flags of its own, check checks what the unit
// will run. An env file passed as a credential is the file it is loaded
// from.
func fromUnit(u *unitfile.Unit) (*launcher.Config, bool) {
	argv, credentials, err := u.Command()
	if err != nil {
		return nil, false
	}
	return fromExec(argv, credentials)
}

// fromExec is the configuration the command line argv gives runapp, when
// it serves with runapp, an env file read at a key of credentials taken
// from its value, the file the credential is loaded from.
func fromExec(argv []string, credentials map[string]string) (*launcher.Config, bool) {
	if len(argv) == 0 || !strings.HasPrefix(filepath.Base(argv[0]), "runapp") {
		return nil, false
	}
	args := argv[1:]
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		if args[0] != "serve" {
			return nil, false // another subcommand
		}
		args = args[1:]
	}
	_, cfg, _, err := serveCommand.parse(args, io.Discard)
	if err != nil {
		return nil, false
	}
	for i, f := range cfg.EnvFiles {
		name := strings.TrimPrefix(f, "-")
		if src, ok := credentials[name]; ok {
			cfg.EnvFiles[i] = f[:len(f)-len(name)] + src
		}
	}
	return cfg, true
}
