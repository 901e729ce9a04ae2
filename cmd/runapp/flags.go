package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/runapp/runapp/launcher"
)

// usageErr is a command-line mistake: exit 2.
func usageErr(format string, args ...any) error {
	return launcher.Errorf(launcher.ExitUsage, format, args...)
}

// command is one subcommand of runapp. Every command parses its arguments
// through the same preamble (invoke), so the commands cannot drift apart in
// how they treat flags, -h and positional arguments.
type command struct {
	name     string
	summary  string   // one line, for runapp help
	synopsis string   // the usage line
	help     string   // printed after the flags by -h; "" for none
	config   bool     // takes the configuration flags (addCommon)
	without  []string // configuration flags it does not take, for -h and completions not to offer them
	args     argRule
	// declare registers the command's own flags on fs and returns the
	// function that runs the command once they are parsed. It runs nothing
	// itself, so help, a man page or completions can enumerate every
	// command's flags (see flagSet). cfg is nil unless config is set.
	declare func(fs *flag.FlagSet, cfg *launcher.Config) runFunc
}

// runFunc runs a command with its flags parsed; args are its positional
// arguments (for a command that takes the configuration, also cfg.Args).
type runFunc func(args []string, stdout, stderr io.Writer) error

// argRule says what a command's positional arguments are.
type argRule int

const (
	noArgs     argRule = iota // none
	serverArgs                // SERVER-ARGS, only after "--": a stray word is a mistake
	anyArgs                   // anything, "--" optional (exec's COMMAND [ARGS...])
)

// flagSet builds c's flag set, with the configuration flags when c takes
// them, and returns it with the configuration the flags fill and the
// function that runs c. -h prints the usage on stdout.
func (c *command) flagSet(stdout io.Writer) (*flag.FlagSet, *launcher.Config, runFunc) {
	fs := newFlagSet(c.name, c.synopsis, c.help, stdout)
	var cfg *launcher.Config
	if c.config {
		cfg = addCommon(fs, c.without...)
	}
	return fs, cfg, c.declare(fs, cfg)
}

// invoke is the one preamble of every command: build the flag set, parse
// args, print the usage for -h, apply the rule for positional arguments,
// and run.
func (c *command) invoke(args []string, stdout, stderr io.Writer) error {
	fs, _, run, err := c.parse(args, stdout)
	if errors.Is(err, errHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return run(fs.Args(), stdout, stderr)
}

// parse does invoke's work but the running: it returns the parsed flag
// set, the configuration (nil unless c takes it, with Args set) and the
// function that runs c. It returns errHelp after printing the usage for -h.
func (c *command) parse(args []string, stdout io.Writer) (*flag.FlagSet, *launcher.Config, runFunc, error) {
	fs, cfg, run := c.flagSet(stdout)
	if err := parse(fs, args); err != nil {
		return nil, nil, nil, err
	}
	// --procfile is a boolean flag to package flag, so "--procfile FILE"
	// leaves FILE the first argument: say how to write it.
	if i := len(args) - fs.NArg(); fs.NArg() > 0 && i > 0 && (args[i-1] == "--procfile" || args[i-1] == "-procfile") {
		return nil, nil, nil, usageErr("--procfile takes its FILE after an equals sign: --procfile=%s (--procfile alone names the app directory's %s)", fs.Arg(0), launcher.DefaultProcfile)
	}
	switch {
	case fs.NArg() == 0 || c.args == anyArgs:
	case c.args == noArgs:
		return nil, nil, nil, usageErr("%s takes no arguments, got %q (see runapp %s -h)", c.name, fs.Arg(0), c.name)
	case !dashdash(args, fs.NArg()):
		example := "runapp " + c.name + " -- project.wsgi"
		if c.name == "serve" {
			example = "runapp -- project.wsgi"
		}
		return nil, nil, nil, usageErr("unexpected argument %q; server arguments go after --, e.g. %s", fs.Arg(0), example)
	}
	if cfg != nil {
		cfg.Args = fs.Args()
	}
	return fs, cfg, run, nil
}

// dashdash says whether the last n arguments came after a "--".
func dashdash(args []string, n int) bool {
	i := len(args) - n - 1
	return i >= 0 && args[i] == "--"
}

// newFlagSet returns a flag set that prints nothing by itself: runapp prints
// each error once, and -h prints the usage on stdout.
func newFlagSet(name, synopsis, help string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "usage: %s\n", synopsis)
		any := false
		fs.VisitAll(func(*flag.Flag) { any = true })
		if any {
			fmt.Fprint(stdout, "\nflags:\n")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
		}
		fmt.Fprint(stdout, help)
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

// configFlags are the names of the flags addCommon registers.
var configFlags = []string{"app-dir", "env-file", "venv", "pythonpath", "server", "process", "procfile"}

// addCommon registers the flags every command that builds a plan shares,
// but those named in without.
func addCommon(fs *flag.FlagSet, without ...string) *launcher.Config {
	cfg := &launcher.Config{}
	// Registered on a set of their own first, as package flag cannot take
	// a flag back, then on fs but without.
	all := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	all.StringVar(&cfg.AppDir, "app-dir", "", "the app `DIR`ectory, where the program runs (default: the current directory)")
	all.Var(listFlag{&cfg.EnvFiles}, "env-file", "env `FILE`, relative to the app directory; repeatable, later files win; a leading - makes it optional (default .env)")
	all.StringVar(&cfg.Venv, "venv", "", "the virtualenv `DIR` (default: VIRTUAL_ENV after the env files, else .venv or venv in the app directory)")
	all.Var(listFlag{&cfg.PythonPath}, "pythonpath", "`DIR` to put in front of PYTHONPATH; repeatable (default: src in the app directory, if it exists)")
	all.StringVar(&cfg.Server, "server", "", "the server `NAME` or PATH (default "+launcher.DefaultServer+")")
	all.StringVar(&cfg.Process, "process", "", "run the Procfile's process type `NAME` instead of the server: its command, expanded as sh would with the environment runapp builds (PORT 5000, +100 per process type before it, unless set)")
	all.Var(procfileFlag{cfg}, "procfile", "the Procfile: --procfile for the app directory's "+launcher.DefaultProcfile+", --procfile=FILE for another, relative to the app directory; unit and check then cover every process type")
	all.VisitAll(func(f *flag.Flag) {
		if !slices.Contains(without, f.Name) {
			fs.Var(f.Value, f.Name, f.Usage)
		}
	})
	return cfg
}

// procfileAlone refuses --procfile without --process, for the commands
// that run one process (serve, exec, env): it would change nothing.
func procfileAlone(cfg *launcher.Config) error {
	if cfg.Procfile != "" && cfg.Process == "" {
		return usageErr("--procfile names the Procfile of a process: add --process NAME (one of the Procfile's process types)")
	}
	return nil
}

// procfileFlag is --procfile[=FILE]: a flag alone names the app
// directory's Procfile, as runapp unit --procfile writes the whole app;
// with =FILE, another. Being a boolean flag to package flag, it takes its
// value only after "=": "--procfile FILE" leaves FILE an argument, which
// the command refuses.
type procfileFlag struct{ cfg *launcher.Config }

func (f procfileFlag) IsBoolFlag() bool { return true }

func (f procfileFlag) String() string {
	if f.cfg == nil {
		return ""
	}
	return f.cfg.Procfile
}

func (f procfileFlag) Set(s string) error {
	switch s {
	case "true":
		f.cfg.Procfile = launcher.DefaultProcfile
	case "false", "":
		f.cfg.Procfile = ""
	default:
		f.cfg.Procfile = s
	}
	return nil
}
