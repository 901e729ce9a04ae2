package check

import (
	"strings"

	"github.com/runapp/runapp/launcher"
)

// checkAppDir: the service user can enter the app directory, or systemd
// fails to start the service with 200/CHDIR. It runs first, so that a
// directory in the way of everything is reported as that. It says whether
// the user can enter it; true when no user is known.
func (c *checker) checkAppDir() (enter bool) {
	if c.user == nil {
		return true
	}
	return c.access(IDAppDirAccess, c.dir, c.dir, "enter", c.dir+" (systemd says 200/CHDIR)", permExec)
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
			c.add(Warning, IDPythonPathEmpty, v.Where(),
				"PYTHONPATH has an empty entry, which puts the working directory on sys.path",
				"remove the stray ':' (or give --pythonpath, and runapp drops empty entries)")
			return
		}
	}
}
