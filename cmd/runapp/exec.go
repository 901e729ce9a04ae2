package main

import (
	"io"
	"os"

	"github.com/runapp/runapp/launcher"
)

// runExec runs any command with the environment and directory serve would
// use; it returns only on error.
func runExec(args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("exec", "runapp exec [FLAGS] [--] COMMAND [ARGS...]", stdout)
	cfg := addCommon(fs)
	if err := parse(fs, args); err != nil {
		return helpOK(err)
	}
	cfg.Args = fs.Args()
	cfg.Command = true
	plan, err := launcher.Build(*cfg, os.Environ())
	if err != nil {
		return err
	}
	return launcher.Exec(plan)
}
