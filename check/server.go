package check

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/runapp/runapp/launcher"
)

// checkServer: the server is found, the service user may run it, and its
// #! interpreter exists and runs. programErr is launcher's reason the
// program cannot run, for when checkServer finds none of its own;
// venvBroken: a virtualenv is named or found but unusable, reported already;
// pyBroke: the virtualenv's Python does not run, reported by checkVenv.
func (c *checker) checkServer(programErr error, venvBroken, pyBroke bool) {
	prog := c.plan.Program
	if prog == "" {
		if programErr == nil || venvBroken {
			return // not found, likely for want of the virtualenv: reported
		}
		where := "--server"
		if c.opts.Config.Server == "" {
			where = "PATH"
		}
		check := IDServerNotFound
		if launcher.ExitCode(programErr) == launcher.ExitCannotRun {
			check = IDServerRun
		}
		msg, fix, _ := strings.Cut(programErr.Error(), "; ")
		c.add(Error, check, where, msg, fix)
		return
	}
	found := false
	if c.user != nil && !c.access(IDServerAccess, prog, prog, "run", prog, permExec) {
		found = true
	}
	if interp, arg, err := launcher.Shebang(prog); err == nil && interp != "" {
		found = c.checkInterpreter(prog, interp, arg, pyBroke) || found
	}
	if !found && programErr != nil {
		msg, fix, _ := strings.Cut(programErr.Error(), "; ")
		c.add(Error, IDServerRun, prog, msg, fix)
	}
}

// checkInterpreter reports what is wrong with the #! line of prog, and
// says whether it found anything; pyBroke is as checkServer takes it.
func (c *checker) checkInterpreter(prog, interp, arg string, pyBroke bool) bool {
	venvBin := ""
	if c.plan.Venv != "" {
		venvBin = filepath.Join(c.plan.Venv, "bin")
	}
	inVenv := venvBin != "" && filepath.Dir(prog) == venvBin
	python := interp
	if filepath.Base(interp) == "env" && exists(interp) {
		// #!/usr/bin/env python3: the interpreter is found on the
		// service's PATH.
		var name string
		for _, f := range strings.Fields(arg) {
			if !strings.HasPrefix(f, "-") {
				name = f
				break
			}
		}
		if name == "" {
			return false
		}
		python = c.lookPath(name)
		if python == "" {
			c.add(Error, IDServerInterpreter, prog,
				fmt.Sprintf("%s starts with #!%s %s, and %s is not on the service's PATH", prog, interp, arg, name),
				"install it, or reinstall the server so that its #! line names an interpreter that exists")
			return true
		}
	}
	if !exists(python) {
		switch {
		case inVenv && filepath.Dir(python) == venvBin && pyBroke:
			return true // the virtualenv's Python is gone: reported once, by checkVenv
		case inVenv && filepath.Dir(python) == venvBin:
			c.add(Error, IDServerInterpreter, prog,
				fmt.Sprintf("%s starts with #!%s, which this virtualenv no longer has: the virtualenv was remade with another Python since the server was installed", prog, python),
				rebuild(c.plan.Venv))
		case inVenv && isVenvPython(python):
			c.add(Error, IDVenvMoved, prog,
				fmt.Sprintf("%s starts with #!%s, which does not exist: the virtualenv was moved from %s to %s, and the scripts in it still name the old path (systemd says 203/EXEC about a file that exists)",
					prog, python, filepath.Dir(filepath.Dir(python)), c.plan.Venv),
				rebuild(c.plan.Venv))
		default:
			c.add(Error, IDServerInterpreter, prog,
				fmt.Sprintf("%s starts with #!%s, which does not exist (systemd says 203/EXEC about a file that exists)", prog, python),
				"install that interpreter, or reinstall the server so that its #! line names one that exists")
		}
		return true
	}
	if inVenv && isVenvPython(python) && !sameFile(filepath.Dir(python), venvBin) {
		c.add(Warning, IDVenvMoved, prog,
			fmt.Sprintf("%s runs %s, the Python of another virtualenv (%s): this one was copied or moved, and the scripts in it still name the old path",
				prog, python, filepath.Dir(filepath.Dir(python))),
			rebuild(c.plan.Venv))
	}
	if c.user != nil && !c.access(IDServerInterpreter, prog, python, "run", python+" (the #! interpreter of "+filepath.Base(prog)+")", permExec) {
		return true
	}
	if !strings.HasPrefix(filepath.Base(python), "python") {
		return false
	}
	if c.plan.Venv != "" && sameFile(python, filepath.Join(c.plan.Venv, "bin", "python")) {
		return pyBroke // run by checkVenv already
	}
	if out, err := c.runPython(python, "-c", "pass"); err != nil {
		c.add(Error, IDServerInterpreter, prog,
			fmt.Sprintf("%s, the #! interpreter of %s, does not run%s: %v%s", python, prog, c.asUser(), err, out),
			"repair or reinstall that Python, or reinstall the server with one that runs")
		return true
	}
	return false
}

// isVenvPython says whether path looks like a virtualenv's python: a
// python* in a bin directory that is not the system's.
func isVenvPython(path string) bool {
	bin := filepath.Dir(path)
	switch filepath.Dir(bin) {
	case "/", "/usr", "/usr/local":
		return false
	}
	return strings.HasPrefix(filepath.Base(path), "python") && filepath.Base(bin) == "bin"
}

// lookPath finds name on the planned PATH, as the kernel's env would.
func (c *checker) lookPath(name string) string {
	v, ok := c.plan.Lookup("PATH")
	if !ok {
		return ""
	}
	for _, d := range strings.Split(v.Value, ":") {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(c.plan.Dir, d)
		}
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}
