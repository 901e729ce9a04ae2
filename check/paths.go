package check

import (
	"strings"

	"github.com/runapp/runapp/launcher"
)

// checkAppDir: the service user can enter the app directory, or systemd
// fails to start the service with 200/CHDIR.
func (c *checker) checkAppDir() {
	if c.user == nil {
		return
	}
	if d := c.user.denied(c.plan.Dir, permExec); d != nil {
		msg := d.message(c.user, "enter", c.plan.Dir) + ", so systemd cannot start the service there (200/CHDIR)"
		c.add(severity(d), "appdir.access", c.plan.Dir, msg, d.fix(c.user, permExec))
	}
}

// checkPythonPath: an empty PYTHONPATH entry puts the working directory on
// sys.path. runapp drops empty entries when it adds its own directories;
// without them the variable passes through as it is.
func (c *checker) checkPythonPath() {
	v, ok := c.plan.Lookup("PYTHONPATH")
	if !ok || v.Origin == launcher.ByRunapp {
		return
	}
	for _, p := range strings.Split(v.Value, ":") {
		if p == "" {
			c.add(Warning, "pythonpath.empty", v.Where(),
				"PYTHONPATH has an empty entry, which puts the working directory on sys.path",
				"remove the stray ':' (or give --pythonpath, and runapp drops empty entries)")
			return
		}
	}
}
