package main

import (
	"context"
	"flag"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/runapp/runapp/check"
	"github.com/runapp/runapp/deploy"
	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/unitfile"
)

const deploySynopsis = "runapp deploy [--unit NAME|NAME.target] [--dry-run] [--restart] [--health PATH] [--no-release] [--timeout DURATION]"

const deployHelp = `
The one command to run after changing code or configuration, as
"nginx -t && systemctl reload nginx" is for nginx:

 1. runs every check of runapp check on the configuration the installed
    unit's ExecStart= gives runapp, as systemd runs it (a template's %i
    expanded), in the environment systemd gives the service; on an error it
    reports it, exits 78 and leaves the running service untouched;
 2. compares what a start would run (environment, program, arguments, unit)
    with the running server (its initial environment, /proc/MAINPID/environ;
    its command line; the unit systemd loaded). What a start would give is
    built as systemd does: the manager's environment, what systemd sets and
    PassEnvironment= passes, Environment=, the EnvironmentFile= files read
    with systemd's rules, then UnsetEnvironment=. When only code can have
    changed and ExecReload= sends HUP to $MAINPID it reloads (HUP: new
    workers, nothing dropped), else it restarts, after systemctl
    daemon-reload when the unit file changed. It says which and why, naming
    variables but never their values. What it cannot compare (a process
    title overwrites the server's command line and environment) is no
    reason to restart: it says so. A second deploy with nothing changed
    never restarts;
 3. runs the pre-flight of the new code: in a throwaway service with the
    unit's user, groups, environment, directory and sandbox (systemd-run),
    runapp exec imports the application as its server would, runs Django's
    system checks (manage.py check: the URL conf and every view module it
    names) and sends GET PATH (--health) through the application itself,
    with no socket; an application that does not load, or a 5xx, stops the
    deploy with exit 1 and the traceback's last lines, the running service
    untouched. It cannot see code no request reaches (another view that
    raises when called) nor what the running server alone has (its
    sockets, its private /tmp, its own requests);
 4. runs the release command, the app directory's Procfile's "release:"
    (Heroku's release phase: manage.py migrate, collectstatic), once, in a
    throwaway service with the unit's user, environment, sandbox and
    writable paths (runapp serve with the release process), its output on
    stdout and in the unit's journal; a non-zero exit stops the deploy with
    exit 1, nothing reloaded or restarted. --no-release skips it;
 5. waits until the service serves again or failed, and says how long it
    took. Serving means answering GET PATH (--health, default /) on the
    address it listens on without a 5xx (a 404 or a DisallowedHost 400 is
    an answer; gunicorn sends READY=1 before its workers load the app),
    after the restart job or once a reload's new workers replaced the old
    ones; a 5xx for 2 seconds is a failed deploy. On failure it prints the
    unit's state, status text and its journal lines at priority err (else
    its last lines), and what to do.

One deploy of a unit runs at a time: a second one waits for the first
(within --timeout), on a lock the kernel releases when its holder dies
(/run/lock/runapp-deploy-NAME.lock).

A restart of a unit without a socket unit refuses connections until the new
server listens: deploy says so (runapp unit writes a socket unit by default).
It reads systemd's state over D-Bus, acts with systemctl and needs root.

With --unit NAME.target (what runapp unit writes for a Procfile) it deploys
every process of the app: it checks every process and its unit first, as
runapp check --unit NAME.target does, and touches none on an error; deploys the web process as above (its
pre-flight, the release command once, reload or restart); then restarts
each other process, as none has a reload (celery worker and beat, rq:
HUP kills them or re-executes them with the old environment), and as
deploy cannot tell whether their code changed, on every deploy. A
worker's stop is a warm shutdown: deploy says it waits for the tasks it
runs, up to the unit's TimeoutStopSec=. A restarted process with no
HTTP is back once active with a new main process that stays up 3 s.
Template instances are each restarted; a service a timer starts is left
to its next run, which starts the new code. It prints a line per unit
saying what it did, and on a failure which units were already switched.
One deploy of the target runs at a time.

Exit status: 0 done; 2 bad usage (a --timeout that is not more than 0); 78
a check found an error, an EnvironmentFile= a start would fail on, the unit
is not one runapp runs, or its Procfile is refused (nothing was touched); 1
the new code failed its pre-flight or the release command failed (nothing
was reloaded or restarted), or the service did not come back or answers
with a 5xx.
`

var deployCommand = &command{
	name:     "deploy",
	summary:  "check, then reload or restart the service, whichever applies the change",
	synopsis: deploySynopsis,
	help:     deployHelp,
	args:     noArgs,
	declare:  deployFlags,
}

// deployFlags declares deploy's flags.
func deployFlags(fs *flag.FlagSet, _ *launcher.Config) runFunc {
	name := fs.String("unit", "", "the service unit `NAME`, NAME@INSTANCE of a template, or NAME.target: every process of the app (default: the current directory's base name, as runapp unit names the unit of an app directory)")
	var o deploy.Options
	fs.BoolVar(&o.DryRun, "dry-run", false, "check and say what would be done, and do nothing")
	fs.BoolVar(&o.Restart, "restart", false, "restart even when a reload would do (a virtualenv rebuilt in place that deploy cannot tell)")
	fs.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "the longest `DURATION` to wait for the service to serve again, for the pre-flight, and for another deploy of it to finish, more than 0 (e.g. 90s, 5m)")
	fs.BoolVar(&o.NoRelease, "no-release", false, "do not run the Procfile's release command")
	fs.StringVar(&o.Health, "health", "/", "the `PATH` the new code must answer without a 5xx, in the pre-flight and after the switch (e.g. /up)")
	return func(_ []string, stdout, _ io.Writer) error {
		return runDeploy(*name, o, stdout)
	}
}

// runDeploy checks what the unit will run, then reloads or restarts it.
func runDeploy(name string, o deploy.Options, stdout io.Writer) error {
	if name == "" {
		dir, err := os.Getwd()
		if err != nil {
			return launcher.Errorf(launcher.ExitConfig, "cannot tell the current directory (%v); give --unit NAME", err)
		}
		name = filepath.Base(dir)
	}
	app := strings.HasSuffix(name, ".target")
	o.Unit = name
	if !app {
		o.Unit = strings.TrimSuffix(name, ".service") + ".service"
	}
	if !strings.HasPrefix(o.Health, "/") || strings.ContainsFunc(o.Health, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return usageErr("--health %q is not a path: it starts with / and has no spaces or control characters (e.g. /up)", o.Health)
	}
	if o.Timeout <= 0 {
		return usageErr("deploy: --timeout must be more than 0, not %s", o.Timeout)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// The configuration the unit's ExecStart= gives runapp, as systemd
	// runs it (specifiers expanded): what deploy checks is what will
	// start.
	o.Config = func(argv []string, credentials map[string]string) (launcher.Config, bool) {
		cfg, ok := fromExec(argv, credentials)
		if !ok {
			return launcher.Config{}, false
		}
		return *cfg, true
	}
	o.Check = check.Options{Name: strings.TrimSuffix(o.Unit, ".service"), NoSignalEntry: !captured()}
	if app {
		return deploy.RunApp(ctx, o, stdout)
	}
	// The unit's file, whose user, environment and sandbox the pre-flight
	// and the release command run with; deploy says so when there is none.
	if u, err := unitfile.Load(o.Unit, nil); err == nil {
		o.File = u
	}
	return deploy.Run(ctx, o, stdout)
}
