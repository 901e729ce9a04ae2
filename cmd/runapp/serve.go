package main

import (
	"errors"
	"io"
	"os"

	"github.com/runapp/runapp/launcher"
)

const serveSynopsis = "runapp [serve] [FLAGS] [-- SERVER-ARGS...]"

// runServe builds the plan and execs the server; it returns only on error.
func runServe(args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("serve", serveSynopsis, stdout)
	cfg := addCommon(fs)
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	if fs.NArg() > 0 && !dashdash(args, fs.NArg()) {
		return usageErr("unexpected argument %q; server arguments go after --, e.g. runapp -- project.wsgi", fs.Arg(0))
	}
	cfg.Args = fs.Args()
	plan, err := launcher.Build(*cfg, os.Environ())
	if err != nil {
		return err
	}
	return launcher.Exec(plan)
}

// dashdash says whether the last n arguments came after a "--".
func dashdash(args []string, n int) bool {
	i := len(args) - n - 1
	return i >= 0 && args[i] == "--"
}

// helpOK turns the -h outcome into success.
func helpOK(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}
