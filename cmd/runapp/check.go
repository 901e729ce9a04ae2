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
)

const checkSynopsis = "runapp check [FLAGS] [--user USER] [--unit FILE] [--format text|json] [--import] [-- SERVER-ARGS...]"

const checkHelp = `
Checks the env files (syntax, duplicates, who may read and write them), the
virtualenv (its Python runs), the server (the service user may run it, its #!
interpreter exists and runs), the WSGI module (found on the Python path;
with --import, by the virtualenv's Python), gunicorn's settings from
SERVER-ARGS, GUNICORN_CMD_ARGS and gunicorn.conf.py (read, never run), and the
unit: --unit FILE, else /etc/systemd/system/NAME.service when it exists.
Without configuration flags or SERVER-ARGS, when the unit's ExecStart= runs
runapp, the configuration checked is the one ExecStart= gives (an env file
passed with LoadCredential= is read where it is loaded from).
Access is judged from the mode bits for the user's uid and groups; ACLs are
not evaluated (a problem says so when one is in the way). No value from an
env file is ever printed.

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

// checkFlags declares check's flags.
func checkFlags(fs *flag.FlagSet, cfg *launcher.Config) runFunc {
	opts := check.Options{}
	fs.StringVar(&opts.User, "user", "", "the `USER` the service runs as, whose access is checked (default: User= of the unit)")
	fs.StringVar(&opts.Unit, "unit", "", "the service unit `FILE` to check (default: /etc/systemd/system/NAME.service, if it exists)")
	fs.StringVar(&opts.Name, "name", "", "the unit `NAME` to look for when --unit is not given (default: the app directory's base name)")
	fs.BoolVar(&opts.Import, "import", false, "ask the virtualenv's Python to find the WSGI module (imports its parent packages, not the module)")
	format := fs.String("format", "text", "output `FORMAT`: text or json")
	return func(_ []string, stdout, stderr io.Writer) error {
		return runCheck(fs, cfg, opts, *format, stdout, stderr)
	}
}

// runCheck reports every misconfiguration it finds, before systemd does.
func runCheck(fs *flag.FlagSet, cfg *launcher.Config, opts check.Options, format string, stdout, stderr io.Writer) error {
	if format != "text" && format != "json" {
		return usageErr("check: --format must be text or json, not %q", format)
	}
	if !commonGiven(fs) && len(cfg.Args) == 0 {
		path := opts.Unit
		if path == "" {
			wd, _ := os.Getwd()
			path = filepath.Join(check.DefaultUnitDir, cmp.Or(opts.Name, filepath.Base(wd))+".service")
		}
		if from, ok := fromUnit(path); ok {
			fmt.Fprintf(stderr, "runapp: check: checking the configuration ExecStart= of %s gives runapp\n", path)
			cfg = from
			opts.Unit = path
		}
	}
	opts.Config = *cfg
	opts.Environ = os.Environ()
	opts.NoSignalEntry = !captured()
	report := check.Run(opts)
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
func fromUnit(path string) (*launcher.Config, bool) {
	argv, credentials, err := check.UnitCommand(path)
	if err != nil || len(argv) == 0 || !strings.HasPrefix(filepath.Base(argv[0]), "runapp") {
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
