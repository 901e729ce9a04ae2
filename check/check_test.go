package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/internal/account"
	"github.com/runapp/runapp/internal/testenv"
	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/unitgen"
)

// secret is in every test's .env: it must never reach the output.
const secret = "s3cr3t-Value"

// makeVenv makes a real virtualenv at dir, as scripts/mkvenv does: Debian's
// python with the system's gunicorn, and bin/gunicorn written as pip writes
// a console script, its #! naming the virtualenv's python.
func makeVenv(t *testing.T, dir string) {
	t.Helper()
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		testenv.Skip(t, "needs Debian's "+python+" (python3-venv)")
	}
	out, err := exec.Command(python, "-m", "venv", "--system-site-packages", "--without-pip", dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	script := "#!" + dir + "/bin/python3\nimport sys\nfrom gunicorn.app.wsgiapp import run\nif __name__ == '__main__':\n    sys.exit(run())\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bin", "gunicorn"), []byte(script), 0o755))
}

// app lays out an app directory from name, content pairs. ".venv" (or any
// name ending in "venv") with content "venv" is a real virtualenv; ".env"
// gets mode 0600, other files 0644.
func app(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i < len(files); i += 2 {
		name, content := files[i], files[i+1]
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		if content == "venv" {
			makeVenv(t, path)
			continue
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".env") {
			mode = 0o640
		}
		require.NoError(t, os.WriteFile(path, []byte(content), mode))
		require.NoError(t, os.Chmod(path, mode))
		if strings.HasSuffix(name, ".env") && os.Geteuid() == 0 {
			// Readable by the service user nobody, through its group.
			require.NoError(t, os.Chown(path, 0, nogroup(t)))
		}
	}
	// t.TempDir's parent is private; a service user must reach the app.
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	require.NoError(t, os.Chmod(dir, 0o755))
	return dir
}

// nogroup is the primary group of the user nobody.
func nogroup(t *testing.T) int {
	a, err := account.Lookup("nobody", "", nil)
	require.NoError(t, err)
	return int(a.GID)
}

// good is a working app: a real virtualenv, a Django-like WSGI module, an
// env file only its owner reads.
var good = []string{
	".venv", "venv",
	"src/project/__init__.py", "",
	"src/project/wsgi.py", "application = None\n",
	".env", "SECRET_KEY='" + secret + "'\n",
}

// with returns good with more files, or files replaced.
func with(files ...string) []string {
	out := append([]string(nil), good...)
	for i := 0; i < len(files); i += 2 {
		replaced := false
		for j := 0; j < len(out); j += 2 {
			if out[j] == files[i] {
				out[j+1], replaced = files[i+1], true
			}
		}
		if !replaced {
			out = append(out, files[i], files[i+1])
		}
	}
	return out
}

// want is one expected problem; in where, $APP stands for the app
// directory and $UNIT for the unit file.
type want struct {
	sev   Severity
	check string
	where string
	text  []string // in the message or the fix
}

type checkCase struct {
	name  string
	files []string
	// unit, when set, makes the unit checked: it edits the unit runapp unit
	// writes for the case's configuration (user nobody, gunicorn 20.1).
	unit func(generated string) string
	// listen is runapp unit's --socket: the socket unit is written next to
	// the service. installed puts the unit on UnitPath as web.service, found
	// by --name web, instead of giving --unit.
	listen    string
	installed bool
	// dropIns are NAME, TEXT pairs of drop-ins: beside --unit FILE in
	// FILE.d, or for an installed unit in $ETC/web.service.d, $ETC being a
	// directory before the unit's on UnitPath, as /etc is before /usr/lib.
	dropIns []string
	setup   func(t *testing.T, dir string)
	opts    func(o *Options, dir string)
	want    []want
}

func runCase(t *testing.T, tc checkCase) (*Report, string) {
	t.Helper()
	dir := app(t, tc.files...)
	units := t.TempDir()
	etc := filepath.Join(units, "etc")
	opts := Options{
		Config:   launcher.Config{AppDir: dir},
		Environ:  []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"},
		UnitPath: []string{etc, filepath.Join(units, "lib")}, // never the machine's units
	}
	for _, d := range opts.UnitPath {
		require.NoError(t, os.Mkdir(d, 0o755))
	}
	if tc.setup != nil {
		tc.setup(t, dir)
	}
	if tc.opts != nil {
		tc.opts(&opts, dir)
	}
	unitPath, unitText := "", ""
	if tc.unit != nil {
		unitPath, unitText = writeUnit(t, tc, &opts)
	}
	for i := 0; i < len(tc.dropIns); i += 2 {
		d := unitPath + ".d"
		if tc.installed {
			d = filepath.Join(etc, "web.service.d")
		}
		require.NoError(t, os.MkdirAll(d, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, tc.dropIns[i]), []byte(tc.dropIns[i+1]), 0o644))
	}
	if (opts.User != "" || strings.Contains(unitText, "User=")) && os.Geteuid() != 0 {
		testenv.Skip(t, "checks for a service user need root, to give it the files")
	}
	r := Run(opts)

	var text, js bytes.Buffer
	require.NoError(t, r.WriteText(&text))
	require.NoError(t, r.WriteJSON(&js))
	assert.NotContains(t, text.String(), secret, "a value from an env file is printed")
	assert.NotContains(t, js.String(), secret, "a value from an env file is printed")

	expand := func(s string) string {
		if prefix, ok := strings.CutPrefix(s, "$UNIT@"); ok {
			// The line of the unit that starts with prefix.
			for i, line := range strings.Split(unitText, "\n") {
				if strings.HasPrefix(line, prefix) {
					return fmt.Sprintf("%s:%d", unitPath, i+1)
				}
			}
			t.Fatalf("no line %q in the unit:\n%s", prefix, unitText)
		}
		return strings.NewReplacer("$APP", dir, "$UNIT", unitPath, "$ETC", etc).Replace(s)
	}
	var got, exp []string
	for _, p := range r.Problems {
		got = append(got, fmt.Sprintf("%s %s %s", p.Severity, p.Check, p.Where))
	}
	for _, w := range tc.want {
		exp = append(exp, fmt.Sprintf("%s %s %s", w.sev, w.check, expand(w.where)))
	}
	assert.ElementsMatch(t, exp, got, "problems:\n%s", text.String())
	for _, w := range tc.want {
		var texts []string
		match := false
		for _, p := range r.Problems {
			if p.Check == w.check && p.Where == expand(w.where) {
				text := p.Message + "; " + p.Fix
				texts = append(texts, text)
				all := true
				for _, s := range w.text {
					all = all && strings.Contains(text, expand(s))
				}
				match = match || all
			}
		}
		assert.True(t, match, "%s at %s: no problem says all of %q; got:\n%s", w.check, w.where, w.text, strings.Join(texts, "\n"))
	}
	return r, text.String()
}

func TestCleanApp(t *testing.T) {
	r, text := runCase(t, checkCase{files: good})
	assert.Empty(t, r.Problems, text)
	assert.Equal(t, "0 errors, 0 warnings\n", text)
}

func TestEnvFiles(t *testing.T) {
	tests := []checkCase{
		{
			name: "every refused line, not only the first",
			files: with(".env", "# ok\nA=x$B\nB=1 # note\nexport C=1\nD='"+secret+"'\n"+
				"E=\"a\\nb\"\nF='unterminated\n"),
			want: []want{
				{Error, "envfile.syntax", ".env:2", []string{"A: "}},
				{Error, "envfile.syntax", ".env:3", []string{"B: "}},
				{Error, "envfile.syntax", ".env:4", []string{"export"}},
				{Error, "envfile.syntax", ".env:6", []string{"E: "}},
				{Error, "envfile.syntax", ".env:7", []string{"F: "}},
			},
		},
		{
			name:  "runapp fmt would rewrite the lines",
			files: with(".env", "export A=1 # note\nB = two words\n"),
			want: []want{
				{Error, "envfile.syntax", ".env:1", []string{"export", "runapp fmt -w .env rewrites it"}},
				{Error, "envfile.syntax", ".env:2", []string{"B: ", "runapp fmt -w .env rewrites it"}},
			},
		},
		{
			name:  "runapp fmt needs --from",
			files: with(".env", "A=1 # note\nS=x$ht\n"),
			want: []want{
				{Error, "envfile.syntax", ".env:1", []string{"runapp fmt rewrites it once the lines it asks about are settled"}},
				{Error, "envfile.syntax", ".env:2", []string{"S: ", "runapp fmt --from python-dotenv -w .env rewrites it with that reader's value"}},
			},
		},
		{
			name:  "duplicate",
			files: with(".env", "A=1\nSECRET_KEY='"+secret+"'\nA=2\n"),
			want:  []want{{Warning, "envfile.duplicate", ".env:3", []string{"A is set again (first at line 1); the last assignment wins"}}},
		},
		{
			name:  "writable by everyone",
			files: good,
			setup: chmod(".env", 0o666),
			want: []want{
				{Error, "envfile.mode", ".env", []string{"writable by its group and by everyone (mode 0666)", "runs code as the service", "chmod 0640 .env"}},
				{Warning, "envfile.mode", ".env", []string{"readable by everyone (mode 0666)", "holds secrets"}},
			},
		},
		{
			name:  "writable by the group",
			files: good,
			setup: chmod(".env", 0o660),
			want:  []want{{Error, "envfile.mode", ".env", []string{"writable by its group (mode 0660)", "chmod 0640 .env"}}},
		},
		{
			name:  "readable by everyone is a warning",
			files: good,
			setup: chmod(".env", 0o644),
			want:  []want{{Warning, "envfile.mode", ".env", []string{"readable by everyone (mode 0644)", "chmod 0640 .env"}}},
		},
		{
			name:  "a directory anyone can write",
			files: with("conf/app.env", "A=1\n"),
			setup: chmod("conf", 0o777),
			opts:  envFiles(".env", "conf/app.env"),
			want:  []want{{Error, "envfile.dirmode", "$APP/conf", []string{"whoever can write it can replace the file", "chmod go-w $APP/conf"}}},
		},
		{
			name:  "missing",
			files: good,
			opts:  envFiles(".env", "prod.env", "-local.env"),
			want:  []want{{Error, "envfile.missing", "prod.env", []string{"does not exist", "--env-file -prod.env"}}},
		},
		{
			name:  "a refused file does not hide the others",
			files: with("bad.env", "X=$Y\n", "more.env", "GUNICORN_CMD_ARGS=--daemon\n"),
			opts:  envFiles(".env", "bad.env", "more.env"),
			want: []want{
				{Error, "envfile.syntax", "bad.env:1", nil},
				{Error, "gunicorn.daemon", "GUNICORN_CMD_ARGS (more.env:1)", nil},
			},
		},
		{
			name:  "no app directory",
			files: good,
			opts:  func(o *Options, dir string) { o.Config.AppDir = filepath.Join(dir, "gone") },
			want:  []want{{Error, "appdir.missing", "$APP/gone", []string{"cannot use app directory"}}},
		},
		{
			name:  "no --pythonpath directory",
			files: good,
			opts:  func(o *Options, _ string) { o.Config.PythonPath = []string{"lib"} },
			want: []want{
				{Error, "pythonpath.missing", "--pythonpath", []string{"$APP/lib is not a directory", "create the directory, or drop the flag"}},
				{Error, "app.detect", "SERVER-ARGS", nil},
			},
		},
		{
			name:  "GUNICORN_CMD_ARGS gunicorn cannot read",
			files: with(".env", "GUNICORN_CMD_ARGS='--bind \"x'\n"),
			want:  []want{{Error, "gunicorn.args", "GUNICORN_CMD_ARGS (.env:1)", []string{"no closing quotation"}}},
		},
		{
			name:  "empty PYTHONPATH entry",
			files: []string{".venv", "venv", "project/wsgi.py", "", ".env", "PYTHONPATH=lib::other\n"},
			want:  []want{{Warning, "pythonpath.empty", ".env:1", []string{"puts the working directory on sys.path"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

func chmod(name string, mode os.FileMode) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		require.NoError(t, os.Chmod(filepath.Join(dir, name), mode))
	}
}

func envFiles(names ...string) func(*Options, string) {
	return func(o *Options, _ string) { o.Config.EnvFiles = names }
}

func serverArgs(args ...string) func(*Options, string) {
	return func(o *Options, _ string) { o.Config.Args = args }
}

func TestVirtualenvAndServer(t *testing.T) {
	tests := []checkCase{
		{
			name:  "the virtualenv's Python was removed",
			files: good,
			setup: func(t *testing.T, dir string) {
				py := filepath.Join(dir, ".venv", "bin", "python3")
				require.NoError(t, os.Remove(py))
				require.NoError(t, os.Symlink("/usr/bin/python3.9-removed", py))
			},
			want: []want{{Error, "venv.python", "$APP/.venv/bin/python", []string{
				"links to /usr/bin/python3.9-removed, which does not exist",
				"-m venv --clear --system-site-packages $APP/.venv",
			}}},
		},
		{
			name:  "the Python of a virtualenv named in .env was removed",
			files: []string{"env/app", "venv", "src/project/wsgi.py", "", ".env", "VIRTUAL_ENV=env/app\n"},
			setup: func(t *testing.T, dir string) {
				require.NoError(t, os.Remove(filepath.Join(dir, "env", "app", "bin", "python3")))
			},
			want: []want{{Error, "venv.python", "$APP/env/app/bin/python", []string{
				"links to $APP/env/app/bin/python3, which does not exist",
				"-m venv --clear --system-site-packages $APP/env/app",
			}}},
		},
		{
			name:  "the virtualenv's Python does not run",
			files: good,
			setup: func(t *testing.T, dir string) {
				py := filepath.Join(dir, ".venv", "bin", "python3")
				require.NoError(t, os.Remove(py))
				require.NoError(t, os.WriteFile(py, []byte("#!/bin/sh\necho broken >&2\nexit 3\n"), 0o755))
			},
			want: []want{{Error, "venv.python", "$APP/.venv/bin/python", []string{"does not run: exit status 3 (broken)", "rebuild it"}}},
		},
		{
			name:  "the virtualenv was moved",
			files: []string{".env", "", "src/project/wsgi.py", ""},
			setup: func(t *testing.T, dir string) {
				old := filepath.Join(t.TempDir(), "venv")
				makeVenv(t, old)
				require.NoError(t, os.Rename(old, filepath.Join(dir, ".venv")))
			},
			want: []want{{Error, "venv.moved", "$APP/.venv/bin/gunicorn", []string{
				"which does not exist: the virtualenv was moved from", "to $APP/.venv", "203/EXEC",
				"-m venv --clear --system-site-packages $APP/.venv",
			}}},
		},
		{
			name:  "the virtualenv was copied",
			files: []string{".env", "", "src/project/wsgi.py", ""},
			setup: func(t *testing.T, dir string) {
				old := filepath.Join(t.TempDir(), "venv")
				makeVenv(t, old)
				out, err := exec.Command("cp", "-a", old, filepath.Join(dir, ".venv")).CombinedOutput()
				require.NoError(t, err, "%s", out)
			},
			want: []want{{Warning, "venv.moved", "$APP/.venv/bin/gunicorn", []string{"the Python of another virtualenv"}}},
		},
		{
			name:  "the server's #! interpreter is missing",
			files: with(".venv/bin/gunicorn", "#!/usr/bin/python2.1-gone\n"),
			setup: chmod(".venv/bin/gunicorn", 0o755),
			want: []want{{Error, "server.interpreter", "$APP/.venv/bin/gunicorn", []string{
				"starts with #!/usr/bin/python2.1-gone, which does not exist", "203/EXEC",
			}}},
		},
		{
			name:  "#!/usr/bin/env with a Python not on PATH",
			files: with(".venv/bin/gunicorn", "#!/usr/bin/env python2.1\n"),
			setup: chmod(".venv/bin/gunicorn", 0o755),
			want:  []want{{Error, "server.interpreter", "$APP/.venv/bin/gunicorn", []string{"python2.1 is not on the service's PATH"}}},
		},
		{
			name:  "the server is not executable",
			files: good,
			setup: chmod(".venv/bin/gunicorn", 0o644),
			want:  []want{{Error, "server.run", "PATH", []string{"$APP/.venv/bin/gunicorn is not executable", "chmod +x"}}},
		},
		{
			name:  "no server",
			files: good,
			opts:  func(o *Options, _ string) { o.Config.Server = "no-such-server" },
			want:  []want{{Error, "server.notfound", "--server", []string{"no-such-server: not found"}}},
		},
		{
			name:  "VIRTUAL_ENV names a missing directory",
			files: with(".env", "VIRTUAL_ENV=/opt/gone\n"),
			want:  []want{{Error, "venv.missing", ".env:1", []string{"does not exist"}}},
		},
		{
			name:  "VIRTUAL_ENV disagrees with --venv",
			files: with(".env", "VIRTUAL_ENV=/opt/other\nSECRET_KEY='"+secret+"'\n"),
			opts:  func(o *Options, dir string) { o.Config.Venv = filepath.Join(dir, ".venv") },
			want:  []want{{Warning, "venv.mismatch", ".env:1", []string{"another directory than the virtualenv given by --venv ($APP/.venv)"}}},
		},
		{
			name:  "VIRTUAL_ENV agrees with --venv",
			files: with(".env", "VIRTUAL_ENV=.venv\n"),
			opts:  func(o *Options, dir string) { o.Config.Venv = filepath.Join(dir, ".venv") },
		},
		{
			name:  "--venv does not exist",
			files: good,
			opts:  func(o *Options, dir string) { o.Config.Venv = filepath.Join(dir, "nope") },
			want: []want{
				{Error, "venv.missing", "--venv", []string{"does not exist", "python3 -m venv"}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

func TestApplication(t *testing.T) {
	tests := []checkCase{
		{
			name:  "module not on the path",
			files: good,
			opts:  serverArgs("nosuch.wsgi:application"),
			want:  []want{{Error, "app.module", "SERVER-ARGS", []string{"module nosuch.wsgi is not found", "$APP/src", "--pythonpath DIR"}}},
		},
		{
			name:  "module found by file",
			files: good,
			opts:  serverArgs("--bind", "127.0.0.1:8001", "project.wsgi:application"),
		},
		{
			name:  "--pythonpath of gunicorn is searched",
			files: with("lib/other/wsgi.py", ""),
			opts:  serverArgs("--pythonpath", "lib", "other.wsgi"),
		},
		{
			name:  "not a module name",
			files: good,
			opts:  serverArgs("project/wsgi.py"),
			want:  []want{{Error, "app.module", "SERVER-ARGS", []string{`"project/wsgi.py" is not a Python module name`}}},
		},
		{
			name:  "none detected",
			files: []string{".venv", "venv", ".env", ""},
			want:  []want{{Error, "app.detect", "SERVER-ARGS", []string{"no Django WSGI module found"}}},
		},
		{
			name:  "none given with a configuration file",
			files: with("gunicorn.conf.py", "workers = 2\n"),
			want:  []want{{Error, "app.none", "gunicorn.conf.py", []string{"no wsgi_app"}}},
		},
		{
			name:  "wsgi_app in the configuration file",
			files: with("gunicorn.conf.py", "wsgi_app = 'project.wsgi:application'\n"),
		},
		{
			name:  "import: found",
			files: good,
			opts:  func(o *Options, _ string) { o.Import = true; o.Config.Args = []string{"project.wsgi"} },
		},
		{
			name:  "import: not found",
			files: good,
			opts:  func(o *Options, _ string) { o.Import = true; o.Config.Args = []string{"nosuch.wsgi"} },
			want:  []want{{Error, "app.import", "SERVER-ARGS", []string{"cannot find module nosuch.wsgi"}}},
		},
		{
			name:  "import: the parent package fails, and no value leaks",
			files: with("src/project/__init__.py", "import os\nraise RuntimeError(os.environ['SECRET_KEY'])\n"),
			opts:  func(o *Options, _ string) { o.Import = true; o.Config.Args = []string{"project.wsgi"} },
			want:  []want{{Error, "app.import", "SERVER-ARGS", []string{"fails to find module project.wsgi", "RuntimeError: ***"}}},
		},
		{
			name:  "import: the module itself is not run",
			files: with("src/project/wsgi.py", "raise SystemExit('ran the app')\n"),
			opts:  func(o *Options, _ string) { o.Import = true; o.Config.Args = []string{"project.wsgi"} },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

func TestGunicornSettings(t *testing.T) {
	tests := []checkCase{
		{
			name:  "daemon in gunicorn.conf.py",
			files: with("gunicorn.conf.py", "import multiprocessing\n\nworkers = multiprocessing.cpu_count()\ndaemon = True\n"),
			opts:  serverArgs("project.wsgi"),
			want:  []want{{Error, "gunicorn.daemon", "gunicorn.conf.py:4", []string{"systemd loses the server", "remove daemon"}}},
		},
		{
			name:  "daemon = False",
			files: with("gunicorn.conf.py", "daemon = False\n"),
			opts:  serverArgs("project.wsgi"),
		},
		{
			name:  "daemon on the command line",
			files: good,
			opts:  serverArgs("-D", "project.wsgi"),
			want:  []want{{Error, "gunicorn.daemon", "SERVER-ARGS", nil}},
		},
		{
			name:  "daemon in GUNICORN_CMD_ARGS",
			files: with(".env", "SECRET_KEY='"+secret+"'\nGUNICORN_CMD_ARGS='--workers 3 --daemon'\n"),
			want:  []want{{Error, "gunicorn.daemon", "GUNICORN_CMD_ARGS (.env:2)", nil}},
		},
		{
			name:  "pidfile",
			files: with("gunicorn.conf.py", "pidfile = '/run/app.pid'\nwsgi_app = 'project.wsgi'\n"),
			want:  []want{{Warning, "gunicorn.pidfile", "gunicorn.conf.py:1", []string{"systemd already knows the server's PID"}}},
		},
		{
			name:  "a --config that does not exist",
			files: good,
			opts:  serverArgs("-c", "conf/gunicorn.py", "project.wsgi"),
			want:  []want{{Error, "gunicorn.config", "conf/gunicorn.py", []string{"cannot read its configuration file"}}},
		},
		{
			name:  "a computed setting",
			files: with("gunicorn.conf.py", "import os\nbind = os.environ.get('BIND', '127.0.0.1:8000')\nwsgi_app = 'project.wsgi'\n"),
			want:  []want{{Warning, "gunicorn.unknown", "gunicorn.conf.py:2", []string{"bind is computed"}}},
		},
		{
			name:  "the command line overrides the file",
			files: with("gunicorn.conf.py", "pidfile = '/run/x.pid'\n"),
			opts:  serverArgs("--pid=", "project.wsgi"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

// writeUnit writes the case's unit, runapp unit's output edited, and the
// socket unit; it returns the unit's path and text.
func writeUnit(t *testing.T, tc checkCase, opts *Options) (string, string) {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	o := unitgen.Options{
		Config:        launcher.Config{AppDir: opts.Config.AppDir, Server: opts.Config.Server, Args: opts.Config.Args},
		Runapp:        self,
		Name:          "app",
		User:          "nobody",
		Group:         "nogroup",
		Listen:        tc.listen,
		ServerVersion: "20.1.0",
	}
	if opts.Config.Server != "" {
		o.ServerVersion = "any" // the ASGI servers': none depends on it
	}
	dir := t.TempDir()
	if tc.installed {
		o.Name, dir = "web", opts.UnitPath[1]
		opts.Name = "web"
	}
	service, err := unitgen.Service(o)
	require.NoError(t, err)
	text := strings.ReplaceAll(tc.unit(service), "$APP", opts.Config.AppDir)
	path := filepath.Join(dir, o.Name+".service")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	if !tc.installed {
		opts.Unit = path
	}
	if tc.listen != "" {
		socket, err := unitgen.Socket(o)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, o.Name+".socket"), []byte(socket), 0o644))
	}
	return path, text
}

// edit replaces, in order, each old string with its new one, once.
func edit(oldNew ...string) func(string) string {
	return func(unit string) string {
		for i := 0; i < len(oldNew); i += 2 {
			if !strings.Contains(unit, oldNew[i]) {
				panic(fmt.Sprintf("no %q in the unit:\n%s", oldNew[i], unit))
			}
			unit = strings.Replace(unit, oldNew[i], oldNew[i+1], 1)
		}
		return unit
	}
}

// addService adds lines at the end of [Service].
func addService(lines ...string) func(string) string {
	return edit("\n[Install]", strings.Join(lines, "\n")+"\n\n[Install]")
}

var asGenerated = edit()

func TestUnit(t *testing.T) {
	tests := []checkCase{
		{name: "the unit runapp unit writes", files: good, unit: asGenerated},
		{
			name:  "pitfalls",
			files: good,
			unit:  edit("Type=notify", "Type=forking", "KillMode=mixed", "KillMode=process", "NotifyAccess=main", "PIDFile=/run/app.pid\nWatchdogSec=30"),
			want: []want{
				{Error, "unit.type", "$UNIT@Type=forking", []string{"Type=forking", "Type=notify"}},
				{Warning, "unit.pidfile", "$UNIT@PIDFile=", nil},
				{Error, "unit.watchdog", "$UNIT@WatchdogSec=", []string{"WATCHDOG=1"}},
				{Warning, "unit.killmode", "$UNIT@KillMode=", []string{"KillMode=mixed"}},
			},
		},
		{
			name:  "KillMode=none",
			files: good,
			unit:  edit("KillMode=mixed", "KillMode=none"),
			want:  []want{{Error, "unit.killmode", "$UNIT@KillMode=", []string{"leaves every process running"}}},
		},
		{
			name:  "no User=",
			files: good,
			unit:  edit("User=nobody\n", ""),
			want:  []want{{Warning, "unit.user", "$UNIT", []string{"runs as root"}}},
		},
		{
			name:  "a User= that does not exist",
			files: good,
			unit:  edit("User=nobody", "User=no-such-user-42"),
			want:  []want{{Error, "user.unknown", "$UNIT@User=", []string{"user no-such-user-42 does not exist", "useradd --system"}}},
		},
		{
			name:  "drift from runapp unit",
			files: good,
			unit:  edit("Restart=on-failure\n", "", "TimeoutStopSec=40", "TimeoutStopSec=5min", "ProtectSystem=strict", "ProtectSystem=full", "PrivateTmp=yes\n", ""),
			want: []want{
				{Warning, "unit.drift", "$UNIT", []string{"the unit has no Restart=", "add Restart=on-failure to [Service]"}},
				{Warning, "unit.drift", "$UNIT@TimeoutStopSec=", []string{"TimeoutStopSec=5min differs", "TimeoutStopSec=40"}},
				{Warning, "unit.hardening", "$UNIT", []string{"lacks 2 sandboxing option(s) of runapp unit --hardening strict", "ProtectSystem=strict, PrivateTmp=yes"}},
			},
		},
		{
			// gunicorn's documented form sends the same HUP (issue 20).
			name:  "ExecReload= in another form of kill",
			files: good,
			unit:  edit("ExecReload=/bin/kill -HUP $MAINPID", "ExecReload=/bin/kill -s HUP $MAINPID"),
		},
		{
			name:  "ExecReload= with another signal",
			files: good,
			unit:  edit("ExecReload=/bin/kill -HUP $MAINPID", "ExecReload=/bin/kill -s USR2 $MAINPID"),
			want:  []want{{Warning, "unit.drift", "$UNIT@ExecReload=", []string{"ExecReload=/bin/kill -s USR2 $MAINPID differs", "ExecReload=/bin/kill -HUP $MAINPID"}}},
		},
		{
			name:  "Type= is not judged without gunicorn's version",
			files: with(".venv/bin/gunicorn", "#!/bin/sh\nexit 1\n"),
			setup: chmod(".venv/bin/gunicorn", 0o755),
			unit:  edit("Type=notify", "Type=exec", "NotifyAccess=main\n", ""),
		},
		{
			name:  "another configuration in ExecStart=",
			files: good,
			unit:  edit(" --env-file .env", " --env-file prod.env"),
			want:  []want{{Warning, "unit.drift", "$UNIT@ExecStart=", []string{"--env-file prod.env differs", "--env-file .env (runapp"}}},
		},
		{
			name:  "the seed's unit",
			files: with("run", "#! /bin/bash\nset -a\nsource .env\nset +a\nexec .venv/bin/gunicorn project.wsgi\n"),
			setup: chmod("run", 0o755),
			unit: func(string) string {
				return "[Unit]\nDescription=gunicorn daemon\nAfter=network.target\n\n[Service]\nEnvironmentFile=$APP/.env\n" +
					"WorkingDirectory=$APP/\nExecStart=$APP/run\nAmbientCapabilities=CAP_NET_BIND_SERVICE\nUser=nobody\nGroup=nogroup\n\n" +
					"[Install]\nWantedBy=multi-user.target\n"
			},
			want: []want{
				{Warning, "unit.drift", "$UNIT@ExecStart=", []string{"ExecStart=$APP/run differs"}},
				{Warning, "unit.drift", "$UNIT", []string{"no Type=", "Type=notify"}},
				{Warning, "unit.drift", "$UNIT", []string{"no NotifyAccess="}},
				{Warning, "unit.drift", "$UNIT", []string{"no ExecReload=", "/bin/kill -HUP $MAINPID"}},
				{Warning, "unit.drift", "$UNIT", []string{"no KillMode="}},
				{Warning, "unit.drift", "$UNIT", []string{"no TimeoutStopSec="}},
				{Warning, "unit.drift", "$UNIT", []string{"no Restart="}},
				{Warning, "unit.drift", "$UNIT", []string{"no RestartPreventExitStatus=", "RestartPreventExitStatus=2 78 126 127"}},
				{Warning, "unit.hardening", "$UNIT", []string{"no sandboxing", "ProtectSystem="}},
			},
		},
		{
			name:  "TimeoutStopSec= shorter than the graceful timeout",
			files: good,
			unit:  edit("TimeoutStopSec=40", "TimeoutStopSec=20s"),
			want:  []want{{Error, "gunicorn.graceful_timeout", "$UNIT@TimeoutStopSec=", []string{"20s after SIGTERM", "(30s, gunicorn's default)"}}},
		},
		{
			name:  "a shorter graceful timeout fits",
			files: good,
			unit:  asGenerated,
			opts:  serverArgs("--graceful-timeout", "10", "project.wsgi"),
		},
		{
			name:  "graceful_timeout from gunicorn.conf.py",
			files: with("gunicorn.conf.py", "graceful_timeout = 120\nwsgi_app = 'project.wsgi'\n"),
			unit:  asGenerated,
			want:  []want{{Error, "gunicorn.graceful_timeout", "$UNIT@TimeoutStopSec=", []string{"40s after SIGTERM", "2m0s, gunicorn.conf.py:1"}}},
		},
		{
			name:  "the default stop timeout",
			files: with("gunicorn.conf.py", "graceful_timeout = 120\nwsgi_app = 'project.wsgi'\n"),
			unit:  edit("TimeoutStopSec=40\n", ""),
			want:  []want{{Error, "gunicorn.graceful_timeout", "$UNIT", []string{"1m30s after SIGTERM"}}},
		},
		{
			name:  "a privileged port without a capability",
			files: good,
			unit:  edit("AmbientCapabilities=CAP_NET_BIND_SERVICE\n", ""),
			opts:  serverArgs("--bind", "0.0.0.0:80", "project.wsgi"),
			want:  []want{{Error, "gunicorn.bind", "SERVER-ARGS", []string{"port 80, below 1024", "nobody needs CAP_NET_BIND_SERVICE", "AmbientCapabilities=CAP_NET_BIND_SERVICE"}}},
		},
		{
			name:  "a privileged port from the environment",
			files: with(".env", "SECRET_KEY='"+secret+"'\nPORT=443\n"),
			unit:  edit("AmbientCapabilities=CAP_NET_BIND_SERVICE\n", ""),
			want:  []want{{Error, "gunicorn.bind", "PORT (.env:2)", []string{"binds a port, below 1024"}}},
		},
		{
			name:  "a privileged port with the capability",
			files: good,
			unit:  asGenerated,
			opts:  serverArgs("-b", "[::]:443", "project.wsgi"),
		},
		{
			name:   "a privileged port with a socket unit",
			files:  good,
			unit:   asGenerated,
			listen: "80",
			opts:   serverArgs("-b", "0.0.0.0:80", "project.wsgi"),
		},
		{
			name:  "a privileged port, no unit",
			files: good,
			opts:  func(o *Options, _ string) { o.User = "nobody"; o.Config.Args = []string{"-b:80", "project.wsgi"} },
			want:  []want{{Warning, "gunicorn.bind", "SERVER-ARGS", []string{"or a socket unit"}}},
		},
		{
			name:  "EnvironmentFile= on a file runapp refuses",
			files: with(".env", "SECRET_KEY='"+secret+"'\nA=$B # c\n"),
			unit:  addService("EnvironmentFile=$APP/.env"),
			want: []want{
				{Error, "envfile.syntax", ".env:2", nil},
				{Error, "unit.environmentfile", "$UNIT@EnvironmentFile=", []string{"names .env, which runapp refuses"}},
			},
		},
		{
			name:  "EnvironmentFile= on another file",
			files: with("other.env", "A=1\nexport B=2\n"),
			unit:  addService("EnvironmentFile=$APP/other.env"),
			want:  []want{{Error, "unit.environmentfile", "$UNIT@EnvironmentFile=", []string{"systemd and bash read differently (line 2;"}}},
		},
		{
			name:  "EnvironmentFile= missing",
			files: good,
			unit:  addService("EnvironmentFile=$APP/gone.env", "EnvironmentFile=-$APP/optional.env"),
			want:  []want{{Error, "unit.environmentfile", "$UNIT@EnvironmentFile=", []string{"systemd cannot read"}}},
		},
		{
			name:  "ExecStart= a script without exec",
			files: with("run", "#! /bin/bash\nset -a\nsource .env\nset +a\n\n$VIRTUAL_ENV/bin/gunicorn project.wsgi\n# done\n"),
			setup: chmod("run", 0o755),
			unit: func(u string) string {
				return regexp.MustCompile(`(?m)^ExecStart=.*`).ReplaceAllString(u, "ExecStart=$$APP/run")
			},
			want: []want{{Error, "unit.execstart", "$UNIT@ExecStart=", []string{"last command (line 6) is not exec'd"}}},
		},
		{
			name:  "ExecStart= a script with exec",
			files: with("run", "#!/bin/sh\nset -a; . ./.env; set +a\nexec \"$VIRTUAL_ENV/bin/gunicorn\" \\\n  project.wsgi\n"),
			setup: chmod("run", 0o755),
			unit: func(u string) string {
				return regexp.MustCompile(`(?m)^ExecStart=.*`).ReplaceAllString(u, "ExecStart=-$$APP/run")
			},
			want: []want{{Warning, "unit.drift", "$UNIT@ExecStart=", []string{"differs from what runapp unit writes"}}},
		},
		{
			name:  "ExecStart= names nothing",
			files: good,
			unit: func(u string) string {
				return regexp.MustCompile(`(?m)^ExecStart=\S*`).ReplaceAllString(u, "ExecStart=/usr/local/bin/runapp-gone")
			},
			want: []want{{Error, "unit.execstart", "$UNIT@ExecStart=", []string{"/usr/local/bin/runapp-gone, which does not exist", "203/EXEC"}}},
		},
		{
			name:  "an env file passed as a credential need not be readable by the user",
			files: good,
			setup: chmod(".env", 0o600),
			unit:  addService("LoadCredential=env:$APP/.env"),
			want:  []want{{Warning, "unit.drift", "$UNIT@ExecStart=", []string{"--env-file %d/env"}}},
		},
		{
			name:  "an env file the user cannot read",
			files: good,
			setup: func(t *testing.T, dir string) { require.NoError(t, os.Chown(filepath.Join(dir, ".env"), 0, 0)) },
			unit:  asGenerated,
			want:  []want{{Error, "envfile.access", ".env", []string{"nobody cannot read .env", "chgrp nogroup $APP/.env && chmod g+r $APP/.env"}}},
		},
		{
			name:  "a unit systemd cannot read",
			files: good,
			unit:  edit("[Install]", "[Install"),
			want:  []want{{Error, "unit.syntax", "$UNIT@[Install", []string{"systemd refuses the unit: invalid section header"}}},
		},
		{
			name:  "a long line systemd reads",
			files: good,
			unit:  addService("Environment=A=" + strings.Repeat("x", 3000)),
		},
		{
			name:  "--unit does not exist",
			files: good,
			opts:  func(o *Options, dir string) { o.Unit = filepath.Join(dir, "none.service") },
			want:  []want{{Error, "unit.read", "$APP/none.service", nil}},
		},
		{
			name:      "a drop-in in an earlier directory of the path is where the option comes from",
			files:     good,
			installed: true,
			unit:      asGenerated,
			dropIns:   []string{"override.conf", "[Service]\nKillMode=process\n"},
			want:      []want{{Warning, "unit.killmode", "$ETC/web.service.d/override.conf:2", []string{"KillMode=mixed"}}},
		},
		{
			name:      "a drop-in that adds an ExecStart= instead of replacing it",
			files:     good,
			installed: true,
			unit:      asGenerated,
			dropIns:   []string{"override.conf", "[Service]\nExecStart=/bin/true\n"},
			want:      []want{{Error, "unit.execstart", "$ETC/web.service.d/override.conf:2", []string{"second ExecStart= (the first is at $UNIT:", "write an empty ExecStart= before it"}}},
		},
		{
			name:      "a drop-in that replaces ExecStart=",
			files:     good,
			installed: true,
			unit:      asGenerated,
			dropIns:   []string{"override.conf", "[Service]\nExecStart=\nExecStart=/usr/local/bin/runapp-gone\n"},
			want:      []want{{Error, "unit.execstart", "$ETC/web.service.d/override.conf:3", []string{"runapp-gone, which does not exist"}}},
		},
		{
			name:      "a drop-in's Group= is the service's",
			files:     good,
			installed: true,
			unit:      asGenerated,
			setup:     func(t *testing.T, dir string) { require.NoError(t, os.Chown(filepath.Join(dir, ".env"), 0, 0)) },
			dropIns:   []string{"group.conf", "[Service]\nGroup=root\n"},
		},
		{
			name:      "a masked unit",
			files:     good,
			installed: true,
			unit:      asGenerated,
			opts: func(o *Options, _ string) {
				if err := os.Symlink("/dev/null", filepath.Join(o.UnitPath[0], "web.service")); err != nil {
					panic(err)
				}
			},
			want: []want{{Error, "unit.read", "$ETC/web.service", []string{"web.service is masked", "systemctl unmask web.service"}}},
		},
		{
			name:    "--unit FILE takes the drop-ins beside it",
			files:   good,
			unit:    asGenerated,
			dropIns: []string{"pid.conf", "[Service]\nPIDFile=/run/app.pid\n"},
			want:    []want{{Warning, "unit.pidfile", "$UNIT.d/pid.conf:2", nil}},
		},
		{
			name:      "the installed unit is found by name",
			files:     good,
			installed: true,
			unit:      edit("Type=notify", "Type=forking"),
			want:      []want{{Error, "unit.type", "$UNIT@Type=", nil}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

func TestReportOutput(t *testing.T) {
	r := &Report{Problems: []Problem{
		{Warning, "envfile.mode", ".env", "readable", "chmod 0640 .env"},
		{Error, "envfile.syntax", ".env:10", "B: bad", "quote it"},
		{Error, "envfile.syntax", ".env:9", "A: bad", ""},
		{Error, "unit.type", "/etc/systemd/system/app.service:3", "forking", "notify"},
	}}
	r.Problems = append(r.Problems, r.Problems[1]) // reported twice, shown once
	c := &checker{problems: r.Problems}
	r = c.report()
	var text bytes.Buffer
	require.NoError(t, r.WriteText(&text))
	assert.Equal(t, ""+
		"error    .env:9                             A: bad\n"+
		"error    .env:10                            B: bad; quote it\n"+
		"error    /etc/systemd/system/app.service:3  forking; notify\n"+
		"warning  .env                               readable; chmod 0640 .env\n"+
		"3 errors, 1 warning\n", text.String())

	var js bytes.Buffer
	require.NoError(t, r.WriteJSON(&js))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &doc))
	assert.Equal(t, float64(3), doc["errors"])
	assert.Equal(t, float64(1), doc["warnings"])
	problems := doc["problems"].([]any)
	require.Len(t, problems, 4)
	assert.Equal(t, map[string]any{"severity": "error", "check": "envfile.syntax", "where": ".env:9", "message": "A: bad", "fix": ""}, problems[0])

	js.Reset()
	require.NoError(t, (&checker{}).report().WriteJSON(&js))
	assert.JSONEq(t, `{"problems": [], "errors": 0, "warnings": 0}`, js.String())
}

// TestLastLineMasksValues: a value that contains another is masked whole,
// not around the shorter one.
func TestLastLineMasksValues(t *testing.T) {
	c := &checker{files: []*envFile{
		{entries: []envfile.Entry{{Name: "SHORT", Value: "abc"}}},
		{entries: []envfile.Entry{{Name: "LONG", Value: "abc" + secret}}},
	}}
	assert.Equal(t, " (RuntimeError: ***)", c.lastLine([]byte("Traceback\nRuntimeError: abc"+secret+"\n")))
}

func TestExecProgram(t *testing.T) {
	for v, want := range map[string]string{
		"/usr/bin/runapp --app-dir /srv/app": "/usr/bin/runapp",
		"-@/usr/bin/runapp runapp":           "/usr/bin/runapp",
		`"/opt/my app/run" x`:                "/opt/my app/run",
		`'/opt/my app/run' x`:                "/opt/my app/run",
		`/opt/a\ b/run`:                      "/opt/a b/run",
		`"/opt/unterminated`:                 "",
		"":                                   "",
	} {
		assert.Equal(t, want, execProgram(v), v)
	}
}
