package check

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/server"
)

// venvCandidate is the virtualenv the configuration names or runapp would
// find, whether or not it is usable, and where it is named. When neither
// --venv nor VIRTUAL_ENV names one, the plan's is launcher's search of
// .venv and venv; a directory that search passes over has no bin/python,
// so runapp serves without it and there is nothing to check.
func (c *checker) venvCandidate() (dir, where string) {
	if c.plan.Venv != "" {
		dir = c.plan.Venv
	} else if c.opts.Config.Venv != "" {
		dir = c.opts.Config.Venv
	} else if v, ok := c.plan.Lookup("VIRTUAL_ENV"); ok && v.Value != "" {
		// Not activated, so this is still the file's or the inherited value.
		dir = v.Value
	}
	if dir == "" {
		return "", ""
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(c.plan.Dir, dir)
	}
	dir = filepath.Clean(dir)
	switch {
	case c.opts.Config.Venv != "":
		where = "--venv"
	case c.venvVar() != "":
		where = c.venvVar()
	default:
		where = dir
	}
	return dir, where
}

// venvVar is where VIRTUAL_ENV was set by an env file, or "".
func (c *checker) venvVar() string {
	v, ok := c.plan.Lookup("VIRTUAL_ENV")
	if !ok {
		return ""
	}
	if v.Origin == launcher.FromFile {
		return v.Where()
	}
	replaced := c.plan.Replaced(v.Name)
	for i := len(replaced) - 1; i >= 0; i-- {
		if replaced[i] != "inherited" {
			return replaced[i]
		}
	}
	return ""
}

// checkVenv: the virtualenv exists, its Python runs, and VIRTUAL_ENV in
// the env files names it. venvErr is launcher's reason the virtualenv
// cannot be used, if any. pyBroke says that the virtualenv's Python does
// not run, reported here, so the checks that would run it again do not.
func (c *checker) checkVenv(venvErr error) (pyBroke bool) {
	dir, where := c.venvCandidate()
	if dir == "" {
		return false
	}
	py := filepath.Join(dir, "bin", "python")
	if target := danglingLink(py); target != "" {
		c.add(Error, IDVenvPython, py,
			fmt.Sprintf("%s links to %s, which does not exist: the Python this virtualenv was made with was removed or moved", py, target),
			rebuild(dir))
		return true
	}
	if venvErr != nil {
		msg, fix, _ := strings.Cut(venvErr.Error(), "; ")
		c.add(Error, IDVenvMissing, where, msg, fix)
		return false
	}
	if c.plan.Venv == "" {
		return false
	}
	if out, err := c.runPython(py, "-c", "pass"); err != nil {
		pyBroke = true
		c.add(Error, IDVenvPython, py, fmt.Sprintf("%s does not run%s: %v%s", py, c.asUser(), err, out), rebuild(dir))
	}
	c.checkVenvVar()
	return pyBroke
}

// checkVenvVar: with --venv, a VIRTUAL_ENV line in an env file is
// overridden; say so when it names another directory, since whoever reads
// or sources the file is misled.
func (c *checker) checkVenvVar() {
	if c.opts.Config.Venv == "" {
		return
	}
	var file *envFile
	var entry int = -1
	for _, f := range c.files {
		for i, e := range f.entries {
			if e.Name == "VIRTUAL_ENV" {
				file, entry = f, i
			}
		}
	}
	if file == nil {
		return
	}
	e := file.entries[entry]
	path := e.Value
	if path != "" && !filepath.IsAbs(path) {
		path = filepath.Join(c.plan.Dir, path)
	}
	if sameFile(path, c.plan.Venv) {
		return
	}
	c.add(Warning, IDVenvMismatch, fmt.Sprintf("%s:%d", file.name, e.Line),
		fmt.Sprintf("VIRTUAL_ENV names another directory than the virtualenv given by --venv (%s), which runapp uses and sets VIRTUAL_ENV to", c.plan.Venv),
		fmt.Sprintf("remove the line, or set it to %s", c.plan.Venv))
}

// danglingLink follows path's chain of symbolic links and returns the
// first target that does not exist, or "" when the chain ends in a file.
func danglingLink(path string) string {
	p := path
	for range 40 {
		fi, err := os.Lstat(p)
		if err != nil {
			if p == path {
				return ""
			}
			return p
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return ""
		}
		t, err := os.Readlink(p)
		if err != nil {
			return ""
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(p), t)
		}
		p = t
	}
	return ""
}

// rebuild says how to recreate a virtualenv as it was made, per its
// pyvenv.cfg.
func rebuild(dir string) string {
	cfg := pyvenvCfg(dir)
	python := "python3"
	if home := cfg["home"]; home != "" && exists(filepath.Join(home, "python3")) {
		python = filepath.Join(home, "python3")
	}
	flags := ""
	if cfg["include-system-site-packages"] == "true" {
		flags = " --system-site-packages"
	}
	return fmt.Sprintf("rebuild it: %s -m venv --clear%s %s, then reinstall its packages (e.g. %s/bin/pip install -r requirements.txt)",
		python, flags, dir, dir)
}

// pyvenvCfg reads the "key = value" lines of a virtualenv's pyvenv.cfg.
func pyvenvCfg(dir string) map[string]string {
	m := map[string]string{}
	data, err := os.ReadFile(filepath.Join(dir, "pyvenv.cfg"))
	if err != nil {
		return m
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// runPython runs a Python with the planned environment in the app
// directory, as the service user when it can (see asService), within the
// timeout. On failure it returns the last line of the output, values from
// env files masked, for the message.
func (c *checker) runPython(python string, args ...string) (string, error) {
	out, err := c.exec(python, args...)
	if err == nil {
		return "", nil
	}
	return c.lastLine(out), err
}

// probe is how to run the server's program as exec runs a program.
func (c *checker) probe() server.Probe {
	p := server.Probe{Program: c.plan.Program, Env: c.plan.Environ(), Dir: c.plan.Dir, Timeout: c.opts.Timeout}
	if c.asService {
		p.Credential = c.user.Credential()
	}
	return p
}

// exec runs a program as runPython does and returns its output.
func (c *checker) exec(program string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Env = c.plan.Environ()
	cmd.Dir = c.plan.Dir
	if c.asService {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.user.Credential()}
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return out, fmt.Errorf("no answer within %s", c.opts.Timeout)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		err = errors.New(ee.ProcessState.String())
	}
	return out, err
}

// asUser says, for a message, as whom a Python was run.
func (c *checker) asUser() string {
	if c.asService {
		return " as " + c.user.Name
	}
	return ""
}

// lastLine is the last non-empty line of a program's output, shortened
// and with every value from the env files masked, for a message; "" when
// there is none.
func (c *checker) lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	line := strings.TrimSpace(lines[len(lines)-1])
	if line == "" {
		return ""
	}
	// Longest first: a value inside another must not mask part of it and
	// leave the rest to show.
	var values []string
	for _, f := range c.files {
		for _, e := range f.entries {
			if len(e.Value) >= 3 {
				values = append(values, e.Value)
			}
		}
	}
	slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) })
	for _, v := range values {
		line = strings.ReplaceAll(line, v, "***")
	}
	if len(line) > 200 {
		line = line[:200] + "..."
	}
	return " (" + line + ")"
}
