package main

import (
	"flag"
	"io"
	"os"

	"github.com/runapp/runapp/launcher"
)

const serveSynopsis = "runapp [serve] [FLAGS] [-- SERVER-ARGS...]"

var serveCommand = &command{
	name:     "serve",
	summary:  "build the environment and exec the server (the default)",
	synopsis: serveSynopsis,
	config:   true,
	args:     serverArgs,
	declare: func(_ *flag.FlagSet, cfg *launcher.Config) runFunc {
		return func([]string, io.Writer, io.Writer) error { return runServe(cfg) }
	},
}

// runServe builds the plan and execs the server; it returns only on error.
func runServe(cfg *launcher.Config) error {
	if err := procfileAlone(cfg); err != nil {
		return err
	}
	plan, err := launcher.Build(*cfg, os.Environ())
	if err != nil {
		return err
	}
	return launcher.Exec(plan)
}
