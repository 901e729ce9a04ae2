// runapp lives about a millisecond before it execs: its runtime need not
// check the CPU limits every second to update GOMAXPROCS.

//go:debug updatemaxprocs=0

// Command runapp loads a .env file, sets up a Python virtualenv's
// environment and execs gunicorn (or any command) in its place, so that the
// process systemd watches is the server itself.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/internal/startsig"
	"github.com/runapp/runapp/launcher"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

// commands is the table of subcommands, in the order help lists them.
// Assigned in init because help refers back to it.
var commands []*command

func init() {
	commands = []*command{
		serveCommand,
		execCommand,
		startCommand,
		envCommand,
		checkCommand,
		deployCommand,
		fmtCommand,
		unitCommand,
		kubeCommand,
		versionCommand,
		helpCommand,
	}
}

// lookup returns the command called name, or nil.
func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
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
			return helpCommand.invoke(nil, stdout, stderr)
		case !strings.HasPrefix(name, "-"):
			c := lookup(name)
			if c == nil {
				return usageErr("unknown command %q; server arguments go after --, e.g. runapp -- project.wsgi (see runapp help)", name)
			}
			return c.invoke(args[1:], stdout, stderr)
		}
	}
	return serveCommand.invoke(args, stdout, stderr)
}

var versionCommand = &command{
	name:     "version",
	summary:  "print the version",
	synopsis: "runapp version",
	declare: func(*flag.FlagSet, *launcher.Config) runFunc {
		return func(_ []string, stdout, _ io.Writer) error {
			writeVersion(stdout)
			switch {
			case !startsig.Supported():
				fmt.Fprintf(stdout, "note: no entry point that records the start signal state on %s/%s yet: the program runapp execs will not get the ignored signals and signal mask runapp was started with\n", runtime.GOOS, runtime.GOARCH)
			case !startsig.Captured():
				fmt.Fprintf(stdout, "note: built without %q: the program runapp execs will not get the ignored signals and signal mask runapp was started with (use make build)\n", startsig.EntryFlag)
			}
			return nil
		}
	},
}

// tagline says what runapp does, in help's first line and the man page's
// NAME.
const tagline = "load .env, set up the virtualenv, and exec gunicorn in place"

var helpCommand = &command{
	name:     "help",
	summary:  "print this help, or a command's with runapp help COMMAND",
	synopsis: "runapp help [COMMAND]",
	args:     anyArgs,
	declare: func(*flag.FlagSet, *launcher.Config) runFunc {
		return runHelp
	},
}

func runHelp(args []string, stdout, stderr io.Writer) error {
	switch len(args) {
	case 0:
	case 1:
		c := lookup(args[0])
		if c == nil {
			return usageErr("help: unknown command %q (see runapp help)", args[0])
		}
		return c.invoke([]string{"-h"}, stdout, stderr)
	default:
		return usageErr("help takes at most one COMMAND")
	}
	fmt.Fprint(stdout, "runapp: "+tagline+`.

usage:
  runapp [FLAGS] [-- SERVER-ARGS...]
  runapp COMMAND [FLAGS] [ARGS...]

commands:
`)
	for _, c := range commands {
		fmt.Fprintf(stdout, "  %-8s %s\n", c.name, c.summary)
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
	// READY=1 is gunicorn's to send.
	_, _ = daemon.SdNotify(false, "STATUS="+status)
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
