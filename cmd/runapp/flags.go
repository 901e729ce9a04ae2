package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/runapp/runapp/launcher"
)

// usageErr is a command-line mistake: exit 2.
func usageErr(format string, args ...any) error {
	return launcher.Errorf(launcher.ExitUsage, format, args...)
}

// newFlagSet returns a flag set that prints nothing by itself: runapp prints
// each error once, and -h prints the usage on stdout.
func newFlagSet(name, synopsis string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		if synopsis != "" {
			fmt.Fprintf(stdout, "usage: %s\n\nflags:\n", synopsis)
		}
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// errHelp means -h was given and the usage printed: exit 0.
var errHelp = errors.New("help printed")

// parse parses args, turning flag errors into usage errors. The usage is
// printed for -h only: package flag would also print it after an error.
func parse(fs *flag.FlagSet, args []string) error {
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		usage()
		return errHelp
	}
	if err != nil {
		return usageErr("%s: %v (see runapp %s -h)", fs.Name(), err, fs.Name())
	}
	return nil
}

// listFlag is a repeatable string flag.
type listFlag struct{ list *[]string }

func (l listFlag) String() string {
	if l.list == nil {
		return ""
	}
	return strings.Join(*l.list, ",")
}

func (l listFlag) Set(s string) error {
	*l.list = append(*l.list, s)
	return nil
}

// addCommon registers the flags every command that builds a plan shares.
func addCommon(fs *flag.FlagSet) *launcher.Config {
	cfg := &launcher.Config{}
	fs.StringVar(&cfg.AppDir, "app-dir", "", "the app `DIR`ectory, where the program runs (default: the current directory)")
	fs.Var(listFlag{&cfg.EnvFiles}, "env-file", "env `FILE`, relative to the app directory; repeatable, later files win; a leading - makes it optional (default .env)")
	fs.StringVar(&cfg.Venv, "venv", "", "the virtualenv `DIR` (default: VIRTUAL_ENV after the env files, else .venv or venv in the app directory)")
	fs.Var(listFlag{&cfg.PythonPath}, "pythonpath", "`DIR` to put in front of PYTHONPATH; repeatable (default: src in the app directory, if it exists)")
	fs.StringVar(&cfg.Server, "server", "", "the server `NAME` or PATH (default "+launcher.DefaultServer+")")
	return cfg
}
