package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/runapp/runapp/internal/account"
	"github.com/runapp/runapp/internal/atomicfile"
	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/server"
	"github.com/runapp/runapp/unitgen"
)

const unitSynopsis = "runapp unit [FLAGS] [--write DIR] [-- SERVER-ARGS...]"

var unitCommand = &command{
	name:     "unit",
	summary:  "print the systemd service (and socket) unit",
	synopsis: unitSynopsis,
	config:   true,
	args:     serverArgs,
	declare:  unitFlags,
}

// unitFlags declares unit's flags.
func unitFlags(fs *flag.FlagSet, cfg *launcher.Config) runFunc {
	var o unitgen.Options
	var hardening, version, write string
	fs.StringVar(&o.Name, "name", "", "the unit's `NAME` (default: the app directory's base name)")
	fs.StringVar(&o.User, "user", "", "the `USER` the app runs as (default: the app directory's owner, unless that is root)")
	fs.StringVar(&o.Group, "group", "", "its `GROUP` (default: the user's primary group)")
	fs.StringVar(&o.Description, "description", "", "the unit's Description= `TEXT`")
	fs.StringVar(&o.Listen, "socket", "", "also write NAME.socket, listening on `LISTEN`: a port, ADDR:PORT or an absolute unix socket path; none for no socket unit (default: the one TCP address SERVER-ARGS bind, if they bind one)")
	fs.StringVar(&hardening, "hardening", string(unitgen.Strict), "sandboxing `LEVEL`: strict, basic or none")
	fs.Var(listFlag{&o.Writable}, "writable", "absolute `PATH` the app may write under strict hardening (uploads, a SQLite database); repeatable")
	fs.BoolVar(&o.EnvironmentFile, "environment-file", false, "also give the env files to systemd with EnvironmentFile=, for ExecStartPre= commands that need the variables")
	fs.BoolVar(&o.Credential, "credential", false, "pass the env files with LoadCredential=, so that they may be root's with mode 0600")
	fs.Var(listFlag{&o.After}, "after", "a `UNIT` to start after, e.g. postgresql.service; repeatable")
	fs.Var(listFlag{&o.Wants}, "wants", "a `UNIT` to start along, e.g. postgresql.service (with --after to wait for it); repeatable")
	fs.StringVar(&version, "gunicorn-version", "", "gunicorn's `VERSION`, or none when the server is not gunicorn (default: asked from the gunicorn the server resolves to)")
	fs.StringVar(&o.Runapp, "runapp", "", "runapp's absolute `PATH` for ExecStart= (default: this runapp)")
	fs.StringVar(&write, "write", "", "write the units into `DIR` and print their paths, instead of printing the service")
	var app appFlags
	fs.DurationVar(&app.longestTask, "longest-task", 0, "with --procfile: how long a worker's longest task runs (e.g. 10m): a stop lets it finish (default: 30s, as a web server's requests)")
	fs.Var(listFlag{&app.scale}, "scale", "with --procfile: run `TYPE=N` instances of a process type, as a template unit NAME-TYPE@.service; repeatable")
	fs.Var(listFlag{&app.every}, "every", "with --procfile: run process `TYPE=CALENDAR` on a schedule (systemd's OnCalendar= syntax, e.g. daily or *-*-* 03:00) by NAME-TYPE.timer, not as a service; repeatable")
	return func(_ []string, stdout, stderr io.Writer) error {
		switch {
		case cfg.Process != "":
			return usageErr("runapp unit writes every process of the Procfile with --procfile, not one with --process")
		case cfg.Procfile != "":
			return runUnitApp(cfg, o, app, hardening, version, write, stdout, stderr)
		case app.longestTask != 0 || len(app.scale) > 0 || len(app.every) > 0:
			return usageErr("--longest-task, --scale and --every are about the processes of a Procfile: add --procfile")
		}
		return runUnit(cfg, o, hardening, version, write, stdout, stderr)
	}
}

// runUnit prints (or writes) the service unit, and the socket unit with
// --socket, that run this configuration through runapp.
func runUnit(cfg *launcher.Config, o unitgen.Options, hardening, version, write string, stdout, stderr io.Writer) error {
	noSocket, err := prepareUnit(cfg, &o, hardening)
	if err != nil {
		return err
	}
	dir := cfg.AppDir
	// A malformed --user or --group is a usage error, not one to look up.
	if o.User != "" {
		if _, err := unitgen.ExecArgv(o); err != nil {
			return err
		}
	}
	as, err := serviceAccount(&o, dir)
	if err != nil {
		return err
	}
	// Bad options are told before the server is run to ask its version,
	// which takes a while and may fail for reasons of its own.
	if _, err := unitgen.ExecArgv(o); err != nil {
		return err
	}
	if o.ServerVersion, err = serverVersion(*cfg, cmp.Or(cfg.Server, launcher.DefaultServer), version, as, stderr); err != nil {
		return err
	}
	// systemd holds a socket unit's listening socket across a restart:
	// connections wait instead of being refused. So the server's one TCP
	// bind becomes a socket unit unless --socket says otherwise.
	if o.Listen == "" && !noSocket {
		o.Listen = unitgen.DefaultListen(o)
	}

	service, err := unitgen.Service(o)
	if err != nil {
		return err
	}
	socket, err := unitgen.Socket(o)
	if err != nil {
		return err
	}
	// A server not in runapp's table gets a unit that assumes little of
	// it: say what, so the operator can add what the server needs.
	if notice, _ := unitgen.Notice(o); notice != "" {
		fmt.Fprint(stderr, "runapp: notice: "+notice)
	}
	if write == "" {
		fmt.Fprint(stdout, service)
		if socket != "" {
			fmt.Fprint(stdout, "\n"+socket)
		}
		return nil
	}
	files := map[string]string{o.Name + ".service": service}
	if socket != "" {
		files[o.Name+".socket"] = socket
	}
	if err := writeUnits(stdout, write, files); err != nil {
		return err
	}
	if socket != "" {
		fmt.Fprintf(stderr, "runapp: unit: %[1]s.socket listens on %[2]s and starts %[1]s.service; enable both: systemctl enable --now %[1]s.socket %[1]s.service. While the socket listens, a stopped service starts again on the next connection: stop both with systemctl stop %[1]s.socket %[1]s.service\n", o.Name, o.Listen)
	}
	return nil
}

// prepareUnit fills in what runapp unit takes from the command line for a
// single unit and for a whole app alike: the hardening level, the socket
// (--socket none: no socket unit, reported as noSocket), the app directory
// made absolute in cfg, the configuration, the unit's name and runapp's own
// path.
func prepareUnit(cfg *launcher.Config, o *unitgen.Options, hardening string) (noSocket bool, err error) {
	o.Hardening = unitgen.Hardening(hardening)
	noSocket = o.Listen == "none"
	if noSocket {
		o.Listen = ""
	}
	dir, err := filepath.Abs(cmp.Or(cfg.AppDir, "."))
	if err != nil {
		return false, launcher.Errorf(launcher.ExitConfig, "cannot use app directory: %w", err)
	}
	cfg.AppDir = dir
	o.Config = *cfg
	if o.Name == "" {
		o.Name = filepath.Base(dir)
	}
	if o.Runapp == "" {
		if o.Runapp, err = launcher.Executable(); err != nil {
			return false, err
		}
	}
	return noSocket, nil
}

// serviceAccount fills in the user and group, and checks that they exist
// where that can be known. Without --user the app runs as the owner of its
// directory, but never as root unless asked. It returns the credential the
// service will run with, for a process runapp starts as the service would
// run; nil when runapp cannot change users or the account is not known.
func serviceAccount(o *unitgen.Options, dir string) (*syscall.Credential, error) {
	if o.User == "" {
		fi, err := os.Stat(dir)
		if err != nil {
			return nil, launcher.Errorf(launcher.ExitConfig, "cannot use app directory: %w", err)
		}
		uid := fi.Sys().(*syscall.Stat_t).Uid
		if uid == 0 {
			return nil, launcher.Errorf(launcher.ExitConfig, "%s belongs to root, and runapp does not run apps as root unless told; give --user NAME (create one with: useradd --system --no-create-home --shell /usr/sbin/nologin NAME) or --user root", dir)
		}
		name := account.UserName(uid)
		if name == strconv.FormatUint(uint64(uid), 10) {
			return nil, launcher.Errorf(launcher.ExitConfig, "%s belongs to uid %d, which has no user name; give --user NAME", dir, uid)
		}
		o.User = name
	}
	a, err := account.Lookup(o.User, o.Group, nil)
	var unknownGroup user.UnknownGroupError
	switch {
	case errors.As(err, &unknownGroup) && account.Missing(err):
		return nil, launcher.Errorf(launcher.ExitConfig, "group %q does not exist; create it (groupadd --system %s) or give another --group", o.Group, o.Group)
	case account.Missing(err):
		return nil, launcher.Errorf(launcher.ExitConfig, "user %q does not exist; create it (useradd --system --no-create-home --shell /usr/sbin/nologin %s) or give another --user", o.User, o.User)
	case err != nil:
		return nil, nil // kept elsewhere (LDAP, ...): systemd will know
	}
	if o.Group == "" && a.Group != strconv.FormatUint(uint64(a.GID), 10) {
		o.Group = a.Group // a group without a name stays unwritten: the primary group
	}
	if os.Geteuid() != 0 {
		return nil, nil
	}
	return a.Credential(), nil
}

// serverVersion is the version of the server program for the unit: flag when given
// ("none": assume nothing of the server), "" for a server not in runapp's
// table, server.AnyVersion for one whose entry holds for every version,
// else what the program the plan resolves to says, asked as the user
// as says (nil: as runapp's own).
func serverVersion(cfg launcher.Config, program, flag string, as *syscall.Credential, stderr io.Writer) (string, error) {
	srv := server.Lookup(program)
	switch {
	case flag == "none":
		return "", nil
	case flag != "" && (srv == nil || srv.Name != "gunicorn"):
		return "", usageErr("--gunicorn-version is gunicorn's, and --server %s is not gunicorn (runapp takes a program for gunicorn when its name is gunicorn, with or without a version number such as gunicorn3); give --gunicorn-version none, or name the program so", program)
	case flag != "":
		return flag, nil
	case srv == nil:
		return "", nil
	case srv.NotifySince == "":
		// uvicorn, hypercorn, daphne: nothing in the table depends on the
		// version, so the server is not run to ask it.
		return server.AnyVersion, nil
	}
	// An env file that is broken, or not written yet, should not stop the
	// unit being written (runapp check is the place for that), and which
	// server runs seldom depends on it: Inspect goes on without the env
	// files when they are refused. Any other failure stops it.
	plan, failures := launcher.Inspect(cfg, os.Environ())
	var stops []error
	for _, f := range failures {
		if f.Step != launcher.StepEnvFiles {
			stops = append(stops, fmt.Errorf("%w (runapp unit asks %s its version; give --gunicorn-version to skip that)", f.Err, srv.Name))
		}
	}
	if len(stops) > 0 {
		// One line each; the exit code is the first one's.
		return "", errors.Join(stops...)
	}
	if len(failures) > 0 {
		first, _, _ := strings.Cut(failures[0].Err.Error(), "\n")
		fmt.Fprintf(stderr, "runapp: warning: %s; asked %s its version without the env files\n", first, plan.Program)
	}
	// The server runs with the app's PYTHONPATH, so the app's code could
	// run: as the service's user, as it will under the unit, not as root.
	v, err := srv.Version(server.Probe{Program: plan.Program, Env: plan.Environ(), Dir: plan.Dir, Credential: as})
	if err != nil {
		return "", launcher.Errorf(launcher.ExitConfig, "cannot tell the version of %s (%v); give --gunicorn-version", plan.Program, err)
	}
	return v, nil
}

// writeUnits writes files into dir, all or none as far as renames allow,
// and prints the paths written.
func writeUnits(stdout io.Writer, dir string, files map[string]string) error {
	dir, err := filepath.Abs(dir)
	if err == nil {
		var fi os.FileInfo
		if fi, err = os.Stat(dir); err == nil && !fi.IsDir() {
			err = errors.New("not a directory")
		}
	}
	if err != nil {
		return launcher.Errorf(launcher.ExitConfig, "cannot write units into %s: %v", dir, err)
	}
	var write []atomicfile.File
	for name, text := range files {
		write = append(write, atomicfile.File{Path: filepath.Join(dir, name), Data: []byte(text), Perm: 0o644})
	}
	// NAME.service before NAME.socket, and printed in that order.
	slices.SortFunc(write, func(a, b atomicfile.File) int { return strings.Compare(a.Path, b.Path) })
	if err := atomicfile.WriteAll(write); err != nil {
		return launcher.Errorf(launcher.ExitConfig, "cannot %v", err)
	}
	for _, f := range write {
		fmt.Fprintln(stdout, f.Path)
	}
	return nil
}
