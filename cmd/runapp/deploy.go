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
)

const deploySynopsis = "runapp deploy [--unit NAME] [--dry-run] [--restart] [--timeout DURATION]"

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
 3. waits until the service serves again or failed, and says how long it
    took. Serving means answering an HTTP request on the address it listens
    on (gunicorn sends READY=1 before its workers load the app), after the
    restart job or once a reload's new workers are as many as the old ones
    were and the old ones were told to stop (one finishing a long request
    does not hold it up); on failure it
    prints the unit's status text and its journal lines at priority err
    (else its last lines).

A restart of a unit without a socket unit refuses connections until the new
server listens: deploy says so (runapp unit writes a socket unit by default).
It reads systemd's state over D-Bus, acts with systemctl and needs root.

Exit status: 0 done; 2 bad usage (a --timeout that is not more than 0); 78
a check found an error, an EnvironmentFile= a start would fail on, or the
unit is not one runapp runs (nothing was touched); 1 the service did not come
back.
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
	name := fs.String("unit", "", "the service unit `NAME`, or NAME@INSTANCE of a template (default: the current directory's base name, as runapp unit names the unit of an app directory)")
	var o deploy.Options
	fs.BoolVar(&o.DryRun, "dry-run", false, "check and say what would be done, and do nothing")
	fs.BoolVar(&o.Restart, "restart", false, "restart even when a reload would do (a virtualenv rebuilt in place that deploy cannot tell)")
	fs.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "the longest `DURATION` to wait for the service to serve again, more than 0 (e.g. 90s, 5m)")
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
	o.Unit = strings.TrimSuffix(name, ".service") + ".service"

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
	return deploy.Run(ctx, o, stdout)
}
