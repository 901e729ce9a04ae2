package check

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/runapp/runapp/launcher"
)

// pyRoot is a directory on the Python path; shown says whether it may be
// printed (it does not come from an env file).
type pyRoot struct {
	dir   string
	shown bool
}

// moduleName reports whether s is a dotted Python module name of ASCII
// identifiers. Hand-written, not a regexp: the regexp package's
// initialisation is a measurable part of every launch.
func moduleName(s string) bool {
	for _, part := range strings.Split(s, ".") {
		if part == "" || part[0] >= '0' && part[0] <= '9' {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

// findSpec asks Python to find a module as gunicorn's import would, after
// putting gunicorn's own directories in front of sys.path; it imports the
// module's parent packages but not the module itself.
const findSpec = `import importlib.util, sys
sys.path[:0] = sys.argv[2:]
try:
    spec = importlib.util.find_spec(sys.argv[1])
except ModuleNotFoundError as e:
    if not e.name or not (sys.argv[1] + ".").startswith(e.name + "."):
        sys.exit("%s: %s" % (type(e).__name__, e))
    spec = None
except Exception as e:
    sys.exit("%s: %s" % (type(e).__name__, e))
sys.exit(0 if spec else 3)
`

// checkApp: the WSGI module gunicorn will import is on its path.
// appReported: launcher found no module to run, and inspect said so;
// pyBroke: the virtualenv's Python does not run, and checkVenv said so.
func (c *checker) checkApp(g *gunicornSettings, appReported, pyBroke bool) {
	if _, ok := g.get("paste"); ok {
		return // a paste deployment names no module
	}
	app, where := g.app, "SERVER-ARGS"
	if app != "" && len(c.plan.Argv)-1 > len(c.opts.Config.Args) {
		// launcher added it after the arguments given.
		where = "detected"
	}
	if app == "" {
		if s, ok := g.file["wsgi_app"]; ok {
			if !s.known {
				return
			}
			app, where = s.last(), s.where
		}
	}
	if app == "" {
		if appReported {
			return
		}
		at := "SERVER-ARGS"
		if g.confPath != "" {
			at = g.confName
		}
		c.add(Error, IDAppNone, at, "gunicorn is given no application: none after -- and no wsgi_app in its configuration file",
			"name it after --, e.g. runapp -- project.wsgi, or set wsgi_app = \"project.wsgi\" in gunicorn.conf.py")
		return
	}
	module, _, _ := strings.Cut(app, ":")
	if !moduleName(module) {
		c.add(Error, IDAppModule, where, fmt.Sprintf("%q is not a Python module name", module),
			"name the module as in an import statement, e.g. project.wsgi or project.wsgi:application")
		return
	}
	roots, front := c.pyRoots(g)
	found := false
	for _, r := range roots {
		if moduleFile(r.dir, module) {
			found = true
			break
		}
	}
	if c.opts.Import {
		c.importApp(module, where, front, pyBroke)
		return
	}
	if found {
		return
	}
	var shown []string
	hidden := 0
	for _, r := range roots {
		if r.shown {
			shown = append(shown, r.dir)
		} else {
			hidden++
		}
	}
	looked := strings.Join(shown, ", ")
	if hidden > 0 {
		looked += fmt.Sprintf(", and %d more from PYTHONPATH", hidden)
	}
	c.add(Error, IDAppModule, where,
		fmt.Sprintf("module %s is not found on the service's Python path (looked for its file in %s)", module, looked),
		"put the directory that holds it on the path with --pythonpath DIR, or fix the name; --import asks the virtualenv's Python instead")
}

// pyRoots are the directories gunicorn's Python searches, in order: its
// chdir and pythonpath settings (which gunicorn puts in front of sys.path),
// PYTHONPATH, the virtualenv's site-packages. front are the first two.
func (c *checker) pyRoots(g *gunicornSettings) (roots []pyRoot, front []string) {
	chdir := c.plan.Dir
	if s, ok := g.get("chdir"); ok && s.known && !s.secret {
		chdir = abs(c.plan.Dir, s.last())
	}
	roots = append(roots, pyRoot{chdir, true})
	if s, ok := g.get("pythonpath"); ok && s.known {
		for _, p := range strings.Split(s.last(), ",") {
			if p = strings.TrimSpace(p); p != "" {
				roots = append(roots, pyRoot{abs(chdir, p), !s.secret})
			}
		}
	}
	for _, r := range roots {
		front = append(front, r.dir)
	}
	if v, ok := c.plan.Lookup("PYTHONPATH"); ok {
		own := strings.Split(v.Own, ":")
		for _, p := range strings.Split(v.Value, ":") {
			if p != "" {
				roots = append(roots, pyRoot{abs(c.plan.Dir, p), v.Origin == launcher.ByRunapp && slices.Contains(own, p)})
			}
		}
	}
	if c.plan.Venv != "" {
		sp, _ := filepath.Glob(filepath.Join(c.plan.Venv, "lib", "python*", "site-packages"))
		for _, d := range sp {
			roots = append(roots, pyRoot{d, true})
		}
	}
	return roots, front
}

// moduleFile says whether a file or package for module is under root.
func moduleFile(root, module string) bool {
	base := filepath.Join(root, filepath.FromSlash(strings.ReplaceAll(module, ".", "/")))
	if exists(base+".py") || exists(filepath.Join(base, "__init__.py")) {
		return true
	}
	if fi, err := os.Stat(base); err == nil && fi.IsDir() {
		return true // a namespace package
	}
	ext, _ := filepath.Glob(base + ".*.so")
	return len(ext) > 0
}

// importApp asks the server's Python to find the module; pyBroke is as
// checkApp takes it.
func (c *checker) importApp(module, where string, front []string, pyBroke bool) {
	python := c.serverPython()
	if python == "" {
		c.add(Warning, IDAppImport, where, "no Python to ask for the module: the server is not a Python script and there is no virtualenv", "")
		return
	}
	if pyBroke && c.plan.Venv != "" && strings.HasPrefix(python, c.plan.Venv+"/") {
		return // that Python does not run: reported already
	}
	out, err := c.runPython(python, append([]string{"-c", findSpec, module}, front...)...)
	if err == nil {
		return
	}
	if strings.HasSuffix(err.Error(), "exit status 3") {
		c.add(Error, IDAppImport, where, fmt.Sprintf("%s cannot find module %s%s", python, module, c.asUser()),
			"put the directory that holds it on the path with --pythonpath DIR, or install it in the virtualenv")
		return
	}
	c.add(Error, IDAppImport, where, fmt.Sprintf("%s fails to find module %s%s: %v%s", python, module, c.asUser(), err, out),
		"the module's parent packages must import cleanly; run the server by hand to see the whole traceback")
}

// serverPython is the Python that will run the application: the server's
// #! interpreter when it is a Python, else the virtualenv's.
func (c *checker) serverPython() string {
	if c.plan.Program != "" {
		if interp, arg, err := launcher.Shebang(c.plan.Program); err == nil && interp != "" {
			if filepath.Base(interp) == "env" {
				if f := strings.Fields(arg); len(f) > 0 {
					interp = c.lookPath(f[len(f)-1])
				}
			}
			if strings.HasPrefix(filepath.Base(interp), "python") && exists(interp) {
				return interp
			}
		}
	}
	if c.plan.Venv != "" {
		return filepath.Join(c.plan.Venv, "bin", "python")
	}
	return ""
}

func abs(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}
