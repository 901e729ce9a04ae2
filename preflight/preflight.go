// Package preflight runs a service's new code before the running server
// sees it, as `nginx -t` tests a configuration before nginx reloads: in a
// throwaway process started as the service starts (its user and groups,
// environment, working directory, virtualenv and sandbox), it imports the
// application as its server would, runs Django's system checks, and makes
// one request to the health path through the application itself, with no
// socket; and it runs the release command of the app's Procfile the same
// way.
package preflight

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/server"
)

//go:embed preflight.py
var script string

// App is the application a server of runapp's table serves, and the
// request the pre-flight makes through it.
type App struct {
	// Python is the interpreter the server runs on: the server's #!
	// interpreter, else the virtualenv's python.
	Python string
	// Spec is MODULE[:ATTRIBUTE] as the server reads it; DefaultAttr the
	// attribute the server takes when Spec names none ("" when it takes
	// none).
	Spec, DefaultAttr string
	// Interface is how the server calls it: "wsgi", "asgi", or "auto"
	// (ASGI when the application is an ASGI 3 callable, as hypercorn and
	// gunicorn's default worker may be told either).
	Interface string
	// Factory: Spec names a function that returns the application
	// (uvicorn --factory).
	Factory bool
	// Path is the health path, with its query; Host and Port what the
	// request says it was sent to.
	Path, Host, Port string
}

// ForPlan is the application plan's server serves, asked for on path with
// Host host and port. An error says why the pre-flight cannot tell: a
// program not in the table, or an application named by a configuration
// file.
func ForPlan(plan *launcher.Plan, path, host, port string) (App, error) {
	srv := server.Lookup(plan.Program)
	if srv == nil {
		return App{}, fmt.Errorf("%s is not a server runapp knows", filepath.Base(plan.Program))
	}
	args, err := srv.ReadArgs(plan.Argv[1:])
	if err != nil {
		return App{}, err
	}
	if args.App == "" {
		return App{}, fmt.Errorf("%s is given no application on its command line (its %s may name it)", srv.Name, cmp(args.AppFrom, "configuration"))
	}
	a := App{Python: python(plan), Spec: args.App, Interface: "asgi", Path: path, Host: host, Port: port}
	switch srv.Name {
	case "gunicorn":
		a.DefaultAttr = "application"
		switch {
		case args.Worker == "":
			a.Interface = "auto" // a configuration file may set the worker
		case !server.GunicornASGIWorker(args.Worker):
			a.Interface = "wsgi"
		}
	case "hypercorn":
		a.DefaultAttr, a.Interface = "app", "auto"
	case "uvicorn":
		a.Factory = slices.Contains(plan.Argv[1:], "--factory")
	}
	if a.Python == "" {
		return App{}, errors.New("the server is not a Python script and there is no virtualenv: no Python to import the application with")
	}
	return a, nil
}

func cmp(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

// python is the interpreter the application runs on: the server's #!
// interpreter when it is a Python, else the virtualenv's.
func python(plan *launcher.Plan) string {
	if interp, arg, err := launcher.Shebang(plan.Program); err == nil && interp != "" {
		if filepath.Base(interp) == "env" {
			if f := strings.Fields(arg); len(f) > 0 {
				interp = f[len(f)-1]
				if !filepath.IsAbs(interp) && plan.Venv != "" {
					interp = filepath.Join(plan.Venv, "bin", interp)
				}
			}
		}
		if strings.HasPrefix(filepath.Base(interp), "python") {
			return interp
		}
	}
	if plan.Venv != "" {
		return filepath.Join(plan.Venv, "bin", "python")
	}
	return ""
}

// Argv is the command that runs the pre-flight of a: the Python, the
// script and its arguments.
func (a App) Argv() []string {
	factory := ""
	if a.Factory {
		factory = "()"
	}
	return []string{a.Python, "-c", script, a.Spec + factory, a.DefaultAttr, a.Interface, a.Path, a.Host, a.Port}
}

// Failed is a pre-flight that found the new code broken: what failed,
// and the last lines the process wrote (the traceback's end).
type Failed struct {
	What  string
	Lines []string
}

func (f *Failed) Error() string {
	var b strings.Builder
	b.WriteString(f.What)
	for _, l := range f.Lines {
		b.WriteString("\n  ")
		b.WriteString(l)
	}
	return b.String()
}

// tail is how many of the last lines a Failed keeps: a Django traceback's
// last frames and its exception.
const tail = 20

// traceback is lines less what says nothing of the application: the
// lines of carets under an expression (Python 3.11), and the frames of
// importlib's machinery, which an import failure goes through.
func traceback(lines []string) []string {
	var kept []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t != "" && strings.Trim(t, "^~") == "" || strings.HasPrefix(t, `File "<frozen importlib.`) {
			continue
		}
		kept = append(kept, l)
	}
	return kept
}

// Check runs cmd, a pre-flight (Argv, wrapped in what starts it as the
// service), and reads its outcome: the status the health path answered
// ("GET / answered 200"), or a *Failed when the application does not
// load, fails Django's checks or answers with a 5xx, or another error when
// the pre-flight itself could not run.
func Check(ctx context.Context, cmd *exec.Cmd) (string, error) {
	out, err := cmd.CombinedOutput()
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	last := lines[len(lines)-1]
	what, ours := strings.CutPrefix(last, "runapp-preflight: ")
	var exit *exec.ExitError
	switch {
	case err == nil && ours:
		return what, nil
	case errors.As(err, &exit) && ours && exit.ExitCode() >= 3 && exit.ExitCode() <= 5:
		lines = traceback(lines[:len(lines)-1])
		return "", &Failed{What: what, Lines: lines[max(0, len(lines)-tail):]}
	case err == nil:
		err = errors.New("it printed no outcome")
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return "", &Failed{What: fmt.Sprintf("the pre-flight did not run: %v", err), Lines: lines[max(0, len(lines)-tail):]}
}
