package server

import (
	"path/filepath"
	"strings"
)

// program is what runapp assumes of a program it does not know (python
// manage.py ..., a script): only that it stays in the foreground. No
// READY=1, no reload (a signal it does not handle could kill it), and the
// default bound on the graceful stop (see unitgen).
var program = Server{
	Name: "program",
	Kind: Program,
	args: unboundedArgs,
}

// release is the Procfile's release process type (python manage.py
// migrate): run at each deploy before the others restart, as Heroku's
// release phase runs it, and never a service, so runapp unit writes no
// unit for it.
var release = Server{
	Name: "release",
	Kind: Release,
	args: unboundedArgs,
}

// baseName is the base name of a program's path.
func baseName(path string) string { return filepath.Base(path) }

// nameOption returns the argument of args that is the option short or
// long, which name a worker ("-n", "--hostname"), with its value
// ("--hostname=w1@%h", "-nw1@%h") or written apart; "" when there is none.
func nameOption(args []string, short, long string) string {
	for _, a := range args {
		switch {
		case a == "--":
			return ""
		case a == short, a == long, strings.HasPrefix(a, long+"="),
			strings.HasPrefix(a, short) && !strings.HasPrefix(a, "--"):
			return a
		}
	}
	return ""
}

// unboundedArgs reads the command line of a program whose graceful stop
// has no bound of its own, and none of whose options runapp reads: the
// unit's TimeoutStopSec= is the bound.
func unboundedArgs([]string) (Args, error) {
	return Args{GracefulUnbounded: true}, nil
}
