package main

import (
	"fmt"
	"io"
	"os"

	"github.com/runapp/runapp/check"
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

// runCheck reports every misconfiguration it finds, before systemd does.
func runCheck(args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("check", checkSynopsis, stdout)
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprint(stdout, checkHelp)
	}
	cfg := addCommon(fs)
	opts := check.Options{}
	fs.StringVar(&opts.User, "user", "", "the `USER` the service runs as, whose access is checked (default: User= of the unit)")
	fs.StringVar(&opts.Unit, "unit", "", "the service unit `FILE` to check (default: /etc/systemd/system/NAME.service, if it exists)")
	fs.StringVar(&opts.Name, "name", "", "the unit `NAME` to look for when --unit is not given (default: the app directory's base name)")
	fs.BoolVar(&opts.Import, "import", false, "ask the virtualenv's Python to find the WSGI module (imports its parent packages, not the module)")
	format := fs.String("format", "text", "output `FORMAT`: text or json")
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if *format != "text" && *format != "json" {
		return usageErr("check: --format must be text or json, not %q", *format)
	}
	if fs.NArg() > 0 && !dashdash(args, fs.NArg()) {
		return usageErr("unexpected argument %q; server arguments go after --, e.g. runapp check -- project.wsgi", fs.Arg(0))
	}
	cfg.Args = fs.Args()
	opts.Config = *cfg
	opts.Environ = os.Environ()
	report := check.Run(opts)
	write := report.WriteText
	if *format == "json" {
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
