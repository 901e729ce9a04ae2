package server

// Readers of a Python server's command line, each following the rules of
// the library the server parses it with: argparse (hypercorn, daphne) and
// click (uvicorn). gunicorn, whose argparse use predates these, has its own
// reader in gunicorn.go.

import (
	"fmt"
	"strings"
)

// pyOpt is one option of a Python command line: its option strings
// (space-separated, as the server declares them), the setting it stores
// (argparse's dest, click's parameter name), and whether it takes a value.
type pyOpt struct {
	names string
	dest  string
	value bool
}

// pyArgs is a command line read: each setting's values in order (a repeated
// option gives several; a flag gives "True", a click "--no-x" flag
// "False"), and the positional arguments. A missing positional argument
// is no error: runapp gives the server its application when none is given.
type pyArgs struct {
	settings   map[string][]string
	positional []string
}

// last returns the last value of setting, and whether there is one.
func (a pyArgs) last(setting string) (string, bool) {
	v := a.settings[setting]
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

func (a *pyArgs) set(dest, value string) {
	if a.settings == nil {
		a.settings = map[string][]string{}
	}
	a.settings[dest] = append(a.settings[dest], value)
}

// hasName reports whether the space-separated names hold name.
func hasName(names, name string) bool {
	for _, n := range strings.Fields(names) {
		if n == name {
			return true
		}
	}
	return false
}

// negativeNumber is argparse's _negative_number_matcher, '^-\d+$|^-\d*\.\d+$':
// such an argument is a value, not an option, when the parser has no option
// that looks like one (none of these servers has).
func negativeNumber(s string) bool {
	if len(s) < 2 || s[0] != '-' {
		return false
	}
	digits, frac, dot := strings.Cut(s[1:], ".")
	allDigits := func(s string) bool { return strings.Trim(s, "0123456789") == "" }
	if !dot {
		return digits != "" && allDigits(digits)
	}
	return allDigits(digits) && frac != "" && allDigits(frac)
}

// parseArgparse reads args as Python 3.11's argparse.ArgumentParser with
// allow_abbrev (the default) reads them for opts, with npos positional
// arguments: "--" ends the options; --opt=value and --opt value; a long
// option may be abbreviated to a unique prefix; -xVALUE, -x=VALUE and
// -x VALUE for a short option, and short flags bundled (-xy); a value that
// looks like an option ("-b" "-x") is refused, as argparse refuses it. The
// error is argparse's own, as the server would print it.
func parseArgparse(opts []pyOpt, npos int, args []string) (pyArgs, error) {
	var a pyArgs
	lookup := func(name string) (pyOpt, bool) {
		for _, o := range opts {
			if hasName(o.names, name) {
				return o, true
			}
		}
		return pyOpt{}, false
	}
	// abbrev finds the long options name abbreviates.
	abbrev := func(name string) ([]string, pyOpt, error) {
		var matches []string
		var match pyOpt
		for _, o := range opts {
			for _, n := range strings.Fields(o.names) {
				if strings.HasPrefix(n, "--") && strings.HasPrefix(n, name) {
					matches = append(matches, n)
					match = o
				}
			}
		}
		if len(matches) > 1 {
			return nil, pyOpt{}, fmt.Errorf("ambiguous option: %s could match %s", name, strings.Join(matches, ", "))
		}
		return matches, match, nil
	}
	looksOption := func(s string) bool {
		return strings.HasPrefix(s, "-") && s != "-" && !negativeNumber(s) && !strings.Contains(s, " ")
	}
	value := func(i *int, name string) (string, error) {
		if *i+1 >= len(args) || looksOption(args[*i+1]) || args[*i+1] == "--" {
			return "", fmt.Errorf("argument %s: expected one argument", name)
		}
		*i++
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			a.positional = append(a.positional, args[i+1:]...)
			break
		}
		if !looksOption(arg) {
			a.positional = append(a.positional, arg)
			continue
		}
		name, explicit, hasExplicit := arg, "", false
		o, ok := lookup(arg)
		if !ok && strings.Contains(arg, "=") {
			name, explicit, _ = strings.Cut(arg, "=")
			hasExplicit = true
			o, ok = lookup(name)
		}
		if !ok && strings.HasPrefix(arg, "--") {
			matches, m, err := abbrev(name)
			if err != nil {
				return a, err
			}
			if len(matches) == 1 {
				o, ok, name = m, true, matches[0]
			}
		}
		if !ok && !strings.HasPrefix(arg, "--") && len(arg) > 2 {
			// -xREST: a short option followed by its value, or by more
			// short flags.
			if m, found := lookup(arg[:2]); found {
				o, ok, name, explicit, hasExplicit = m, true, arg[:2], arg[2:], true
			}
		}
		if !ok {
			return a, fmt.Errorf("unrecognized arguments: %s", arg)
		}
		for {
			if o.value {
				v := explicit
				if !hasExplicit {
					var err error
					if v, err = value(&i, name); err != nil {
						return a, err
					}
				}
				a.set(o.dest, v)
				break
			}
			if !hasExplicit {
				a.set(o.dest, "True")
				break
			}
			// A flag with more after it: -xy is -x -y; --flag=v is an
			// error.
			if strings.HasPrefix(name, "--") || explicit == "" {
				return a, fmt.Errorf("argument %s: ignored explicit argument '%s'", name, explicit)
			}
			a.set(o.dest, "True")
			next := "-" + explicit[:1]
			m, found := lookup(next)
			if !found {
				return a, fmt.Errorf("argument %s: ignored explicit argument '%s'", name, explicit)
			}
			o, name, explicit = m, next, explicit[1:]
			hasExplicit = explicit != ""
		}
	}
	// No application is no error here: runapp finds one for the server.
	if len(a.positional) > npos {
		return a, fmt.Errorf("unrecognized arguments: %s", strings.Join(a.positional[npos:], " "))
	}
	return a, nil
}

// parseClick reads args as click 8.1 reads them for a command with opts and
// npos positional arguments: "--" ends the options; --opt=value and
// --opt value, the value taken whatever it looks like; no abbreviations;
// a flag may have a "--no-" twin (names "--x --no-x"), which stores
// "False". Options may come between positional arguments. The error is
// click's, in Go's lower case.
func parseClick(opts []pyOpt, npos int, args []string) (pyArgs, error) {
	var a pyArgs
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			a.positional = append(a.positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			a.positional = append(a.positional, arg)
			continue
		}
		name, explicit, hasExplicit := strings.Cut(arg, "=")
		var o pyOpt
		var ok, off bool
		for _, opt := range opts {
			names := strings.Fields(opt.names)
			if names[0] == name {
				o, ok = opt, true
			} else if len(names) > 1 && names[1] == name {
				o, ok, off = opt, true, true
			}
		}
		if !ok {
			return a, fmt.Errorf("no such option: %s", name)
		}
		switch {
		case o.value && hasExplicit:
			a.set(o.dest, explicit)
		case o.value:
			if i+1 >= len(args) {
				return a, fmt.Errorf("option '%s' requires an argument", name)
			}
			i++
			a.set(o.dest, args[i])
		case hasExplicit:
			return a, fmt.Errorf("option '%s' does not take a value", name)
		case off:
			a.set(o.dest, "False")
		default:
			a.set(o.dest, "True")
		}
	}
	if len(a.positional) > npos {
		return a, fmt.Errorf("got unexpected extra argument (%s)", strings.Join(a.positional[npos:], " "))
	}
	return a, nil
}
