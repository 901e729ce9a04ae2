package main

import (
	"flag"
	"io"
	"os"

	"github.com/runapp/runapp/launcher"
)

var execCommand = &command{
	name:     "exec",
	summary:  "run any command in the same environment and directory",
	synopsis: "runapp exec [FLAGS] [--] COMMAND [ARGS...]",
	config:   true,
	args:     anyArgs,
	declare: func(_ *flag.FlagSet, cfg *launcher.Config) runFunc {
		return func([]string, io.Writer, io.Writer) error { return runExec(cfg) }
	},
}

// runExec runs any command with the environment and directory serve would
// use; it returns only on error.
func runExec(cfg *launcher.Config) error {
	if err := procfileAlone(cfg); err != nil {
		return err
	}
	cfg.Command = true
	plan, err := launcher.Build(*cfg, os.Environ())
	if err != nil {
		return err
	}
	return launcher.Exec(plan)
}
