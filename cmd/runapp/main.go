// runapp lives about a millisecond before it execs: its runtime need not
// check the CPU limits every second to update GOMAXPROCS.

//go:debug updatemaxprocs=0

// Command runapp loads a .env file, sets up a Python virtualenv's
// environment and execs gunicorn (or any command) in its place, so that the
// process systemd watches is the server itself.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/internal/startsig"
	"github.com/runapp/runapp/launcher"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

type command struct {
	run     func(args []string, stdout, stderr io.Writer) error
	summary string
}

var commands map[string]command

func init() {
	// Assigned in init because help refers back to the table.
	commands = map[string]command{
		"serve":   {runServe, "build the environment and exec the server (the default)"},
		"exec":    {runExec, "run any command in the same environment and directory"},
		"env":     {runEnv, "print what serve would exec, without doing it"},
		"unit":    {runUnit, "print the systemd service (and socket) unit"},
		"version": {runVersion, "print the version"},
		"check":   {runCheck, "find misconfigurations before systemd does"},
		"fmt":     {runFmt, "rewrite env files in the form every reader reads alike"},
		"help":    {runHelp, "print this help"},
	}
}

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		report(err, os.Stderr)
	}
	os.Exit(launcher.ExitCode(err))
}

// run dispatches to a subcommand; with no subcommand name it serves.
func run(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch name := args[0]; {
		case name == "-h" || name == "--help" || name == "-help":
			return runHelp(nil, stdout, stderr)
		case !strings.HasPrefix(name, "-"):
			c, ok := commands[name]
			if !ok {
				return usageErr("unknown command %q; server arguments go after --, e.g. runapp -- project.wsgi (see runapp help)", name)
			}
			return c.run(args[1:], stdout, stderr)
		}
	}
	return runServe(args, stdout, stderr)
}

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "", stdout)
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() > 0 {
		return usageErr("version takes no arguments")
	}
	fmt.Fprintf(stdout, "runapp %s\n", version)
	if !startsig.Captured() {
		fmt.Fprintf(stdout, "note: built without %q: the program runapp execs will not get the ignored signals and signal mask runapp was started with (use make build)\n", startsig.EntryFlag)
	}
	return nil
}

func runHelp(_ []string, stdout, _ io.Writer) error {
	fmt.Fprint(stdout, `runapp: load .env, set up the virtualenv, and exec gunicorn in place.

usage:
  runapp [FLAGS] [-- SERVER-ARGS...]
  runapp COMMAND [FLAGS] [ARGS...]

commands:
`)
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(stdout, "  %-8s %s\n", name, commands[name].summary)
	}
	fmt.Fprint(stdout, `
Run "runapp COMMAND -h" for a command's flags.
exit codes: 0 ok, 2 usage, 78 configuration, 126 cannot run, 127 not found
`)
	return nil
}

// report prints err once, a "runapp: " line for each of its lines. When
// stderr is the journal the lines carry the sd-daemon priority prefix for
// "err", so journalctl -p err finds them; under a notify-type unit systemd
// is also told why, in the unit's status text.
func report(err error, stderr *os.File) {
	prefix := "runapp: "
	if toJournal(stderr) {
		prefix = "<3>runapp: "
	}
	lines := strings.Split(err.Error(), "\n")
	for _, line := range lines {
		fmt.Fprintf(stderr, "%s%s\n", prefix, line)
	}
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return
	}
	status := "runapp: " + lines[0]
	if len(lines) > 1 {
		status += fmt.Sprintf(" (and %d more, see the journal)", len(lines)-1)
	}
	// Best effort: there is nothing left to tell if systemd can't be told.
	// The variable stays set, and READY=1 is gunicorn's to send.
	_ = notify("STATUS=" + status)
}

// toJournal says whether f is the stream JOURNAL_STREAM names.
func toJournal(f *os.File) bool {
	var dev, ino uint64
	if _, err := fmt.Sscanf(os.Getenv("JOURNAL_STREAM"), "%d:%d", &dev, &ino); err != nil {
		return false
	}
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil {
		return false
	}
	return st.Dev == dev && st.Ino == ino
}
