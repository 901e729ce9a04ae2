package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/launcher"
)

// mask stands for a value that is not shown. It has a fixed length so that
// it says nothing about the value.
const mask = "***"

var envCommand = &command{
	name:     "env",
	summary:  "print what serve would exec, without doing it",
	synopsis: "runapp env [FLAGS] [--show-values] [-- SERVER-ARGS...]",
	config:   true,
	args:     serverArgs,
	declare: func(fs *flag.FlagSet, cfg *launcher.Config) runFunc {
		show := fs.Bool("show-values", false, "print the values from env files and the inherited environment (they may be secrets)")
		return func(_ []string, stdout, _ io.Writer) error { return runEnv(cfg, *show, stdout) }
	},
}

// runEnv prints the plan serve would carry out.
func runEnv(cfg *launcher.Config, show bool, stdout io.Writer) error {
	if err := procfileAlone(cfg); err != nil {
		return err
	}
	plan, err := launcher.Build(*cfg, os.Environ())
	if err == nil {
		err = plan.Verify()
	}
	if err != nil {
		return err
	}
	writePlan(stdout, plan, show)
	return nil
}

// writePlan prints the plan, the environment sorted by name so that output
// diffs well. With --show-values the environment lines are an env file
// runapp reads back to the same values (each origin a comment on its own
// line, each value in envfile.Quote's form); a value no env file can hold
// is left out, with a comment saying so.
func writePlan(w io.Writer, p *launcher.Plan, show bool) {
	if p.Process != "" {
		fmt.Fprintf(w, "process: %s (%s:%d)\n", p.Process, p.Procfile, p.Line)
	}
	fmt.Fprintf(w, "program: %s\n", p.Program)
	fmt.Fprintf(w, "argv:    %s\n", quoteArgs(p.Argv))
	fmt.Fprintf(w, "dir:     %s\n", p.Dir)
	venv := p.Venv
	if venv == "" {
		venv = "(none)"
	}
	fmt.Fprintf(w, "venv:    %s\n", venv)
	fmt.Fprintf(w, "environment:\n")
	vars := slices.SortedFunc(slices.Values(p.Env), func(a, b launcher.Var) int { return strings.Compare(a.Name, b.Name) })
	for _, v := range vars {
		where := v.Where()
		if replaced := p.Replaced(v.Name); len(replaced) > 0 {
			where += ", replaces " + strings.Join(replaced, ", ")
		}
		fmt.Fprintf(w, "  # %s\n", where)
		if show && !envfile.ValidName(v.Name) {
			fmt.Fprintf(w, "  # %s is left out: bash cannot set a variable of that name\n", quoteComment(v.Name))
			continue
		}
		if problem := envfile.QuoteProblem(v.Value); show && problem != "" {
			// No form of it is one runapp accepts (every reader would not
			// read it alike).
			fmt.Fprintf(w, "  # %s is left out: %s\n", v.Name, problem)
			continue
		}
		fmt.Fprintf(w, "  %s=%s\n", v.Name, displayValue(v, show))
	}
}

// quoteComment makes a name from the inherited environment safe to print
// inside a comment line.
func quoteComment(name string) string {
	q := strconv.Quote(name)
	return q[1 : len(q)-1]
}

// displayValue shows what runapp itself computed and masks the rest unless
// show is set.
func displayValue(v launcher.Var, show bool) string {
	switch {
	case show:
		return envfile.Quote(v.Value)
	case v.Origin == launcher.ByRunapp && v.Own == v.Value:
		return envfile.Quote(v.Value)
	case v.Origin == launcher.ByRunapp:
		return envfile.Quote(v.Own) + ":" + mask
	}
	return mask
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// shellQuote quotes s for bash when it needs quoting: an argument vector is
// read by a shell, not by the env-file readers.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:@%+,=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
