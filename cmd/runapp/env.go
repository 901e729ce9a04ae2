package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

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
// diffs well. Values are shell-quoted, so with --show-values the environment
// lines are themselves a valid env file.
func writePlan(w io.Writer, p *launcher.Plan, show bool) {
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
	width := 0
	lines := make([]string, len(vars))
	for i, v := range vars {
		lines[i] = v.Name + "=" + displayValue(v, show)
		width = max(width, len(lines[i]))
	}
	for i, v := range vars {
		where := v.Where()
		if replaced := p.Replaced(v.Name); len(replaced) > 0 {
			where += ", replaces " + strings.Join(replaced, ", ")
		}
		fmt.Fprintf(w, "  %-*s  # %s\n", width, lines[i], where)
	}
}

// displayValue shows what runapp itself computed and masks the rest unless
// show is set.
func displayValue(v launcher.Var, show bool) string {
	switch {
	case show:
		return shellQuote(v.Value)
	case v.Origin == launcher.ByRunapp && v.Own == v.Value:
		return shellQuote(v.Value)
	case v.Origin == launcher.ByRunapp:
		return shellQuote(v.Own) + ":" + mask
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

// shellQuote quotes s for bash when it needs quoting, in the single-quoted
// form runapp's env-file syntax accepts.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:@%+,=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
