package launcher

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// app lays out an app directory: files maps relative paths to contents; a
// path ending in "/" is a directory; "venv:DIR" makes a fake virtualenv
// whose bin/python and bin/gunicorn are executable scripts.
func app(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i < len(files); i += 2 {
		name, content := files[i], files[i+1]
		path := filepath.Join(dir, name)
		if venv, ok := strings.CutPrefix(name, "venv:"); ok {
			bin := filepath.Join(dir, venv, "bin")
			require.NoError(t, os.MkdirAll(bin, 0o755))
			for _, p := range []string{"python", "gunicorn"} {
				require.NoError(t, os.WriteFile(filepath.Join(bin, p), []byte("#!/bin/sh\n"), 0o755))
			}
			continue
		}
		if strings.HasSuffix(name, "/") {
			require.NoError(t, os.MkdirAll(path, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	return dir
}

func value(t *testing.T, p *Plan, name string) string {
	t.Helper()
	v, ok := p.Lookup(name)
	require.True(t, ok, "%s not in plan", name)
	return v.Value
}

func TestBuildEnvironment(t *testing.T) {
	dir := app(t,
		".env", "A=file\nB='two words'\nA=again\n",
		"local.env", "B=local\n",
		"venv:.venv", "",
		"src/project/wsgi.py", "",
	)
	environ := []string{
		"A=inherited", "PATH=/usr/bin:/bin", "PYTHONHOME=/opt/py", "PYTHONPATH=/lib/x::/lib/y:/lib/x",
		"NOTIFY_SOCKET=/run/n", "LISTEN_FDS=1", "LISTEN_PID=42", "LISTEN_FDNAMES=web",
		"JOURNAL_STREAM=8:9", "WATCHDOG_USEC=100", "WATCHDOG_PID=42",
	}
	p, err := Build(Config{AppDir: dir, EnvFiles: []string{".env", "-local.env", "-missing.env"}}, environ)
	require.NoError(t, err)

	venv := filepath.Join(dir, ".venv")
	assert.Equal(t, filepath.Join(venv, "bin", "gunicorn"), p.Program)
	assert.Equal(t, []string{"gunicorn", "project.wsgi"}, p.Argv)
	assert.Equal(t, dir, p.Dir)
	assert.Equal(t, venv, p.Venv)
	assert.Equal(t, "again", value(t, p, "A"))
	assert.Equal(t, "local", value(t, p, "B"))
	assert.Equal(t, venv, value(t, p, "VIRTUAL_ENV"))
	assert.Equal(t, venv+"/bin:/usr/bin:/bin", value(t, p, "PATH"))
	assert.Equal(t, filepath.Join(dir, "src")+":/lib/x:/lib/y", value(t, p, "PYTHONPATH"))
	_, ok := p.Lookup("PYTHONHOME")
	assert.False(t, ok, "PYTHONHOME is removed, as activate does")
	for _, kv := range environ[4:] {
		name, val, _ := strings.Cut(kv, "=")
		assert.Equal(t, val, value(t, p, name), "%s passes through untouched", name)
	}

	a, _ := p.Lookup("A")
	assert.Equal(t, []string{"inherited", ".env:1"}, p.Replaced("A"))
	assert.Equal(t, ".env:3", a.Where())
	b, _ := p.Lookup("B")
	assert.Equal(t, "local.env:1", b.Where())
	assert.Equal(t, []string{".env:2"}, p.Replaced("B"))
	untouched, _, _ := strings.Cut(environ[4], "=")
	assert.Empty(t, p.Replaced(untouched))
	assert.Empty(t, p.Replaced("PYTHONHOME"), "a removed variable has no history")

	// A deterministic order: inherited variables as they came, then new
	// names in env-file order.
	var names []string
	for _, kv := range p.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	assert.Equal(t, []string{"A", "PATH", "PYTHONPATH", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
		"JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID", "B", "VIRTUAL_ENV"}, names)
}

func TestBuildVirtualenv(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		venv    string
		environ []string
		want    string // relative to the app dir; "" for none
	}{
		{"flag", []string{"venv:envs/a", ""}, "envs/a", nil, "envs/a"},
		{"from .env", []string{"venv:envs/b", "", ".env", "VIRTUAL_ENV=envs/b\n"}, "", nil, "envs/b"},
		{"inherited", []string{"venv:envs/c", ""}, "", []string{"VIRTUAL_ENV=ENVS/c"}, "envs/c"},
		{".venv before venv", []string{"venv:.venv", "", "venv:venv", ""}, "", nil, ".venv"},
		{"venv", []string{"venv:venv", ""}, "", nil, "venv"},
		{"none", []string{"venv/", ""}, "", nil, ""},
		{"flag wins over .env", []string{"venv:a", "", "venv:b", "", ".env", "VIRTUAL_ENV=b\n"}, "a", nil, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := append([]string{".env", ""}, tt.files...)
			dir := app(t, files...)
			environ := []string{"PATH=/bin"}
			for _, kv := range tt.environ {
				environ = append(environ, strings.Replace(kv, "ENVS", filepath.Join(dir, "envs"), 1))
			}
			p, err := Build(Config{AppDir: dir, Command: true, Args: []string{"sh"}, Venv: tt.venv}, environ)
			require.NoError(t, err)
			if tt.want == "" {
				assert.Empty(t, p.Venv)
				_, ok := p.Lookup("VIRTUAL_ENV")
				assert.False(t, ok)
				assert.Equal(t, "/bin", value(t, p, "PATH"))
				return
			}
			want := filepath.Join(dir, tt.want)
			assert.Equal(t, want, p.Venv)
			assert.Equal(t, want, value(t, p, "VIRTUAL_ENV"))
			assert.Equal(t, want+"/bin:/bin", value(t, p, "PATH"))
		})
	}
}

func TestBuildPathEdges(t *testing.T) {
	dir := app(t, ".env", "", "venv:.venv", "")
	bin := filepath.Join(dir, ".venv", "bin")
	t.Run("no PATH inherited", func(t *testing.T) {
		p, err := Build(Config{AppDir: dir, Command: true, Args: []string{"python"}}, nil)
		require.NoError(t, err)
		assert.Equal(t, bin+":"+defaultPath, value(t, p, "PATH"))
		assert.Equal(t, filepath.Join(bin, "python"), p.Program)
	})
	t.Run("already activated", func(t *testing.T) {
		p, err := Build(Config{AppDir: dir, Command: true, Args: []string{"python"}}, []string{"PATH=" + bin + ":/bin"})
		require.NoError(t, err)
		assert.Equal(t, bin+":/bin", value(t, p, "PATH"))
	})
	// An empty PATH entry is the working directory, the app directory:
	// activating the virtualenv must not add one (PATH= became "BIN:"), and
	// drops those it finds, as for PYTHONPATH. The program is looked for on
	// the PATH it will be given.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tool"), []byte("#!/bin/sh\n"), 0o755))
	for _, tt := range []struct{ inherited, want string }{
		{"", bin},
		{":", bin},
		{"/usr/bin::/bin:", bin + ":/usr/bin:/bin"},
		{":" + bin + ":/bin", bin + ":/bin"},
	} {
		t.Run("PATH="+tt.inherited, func(t *testing.T) {
			p, err := Build(Config{AppDir: dir, Command: true, Args: []string{"python"}}, []string{"PATH=" + tt.inherited})
			require.NoError(t, err)
			assert.Equal(t, tt.want, value(t, p, "PATH"))
			_, err = Build(Config{AppDir: dir, Command: true, Args: []string{"tool"}}, []string{"PATH=" + tt.inherited})
			assert.Equal(t, ExitNotFound, ExitCode(err), "found in the app directory: %v", err)
		})
	}
	t.Run("empty PATH from an env file", func(t *testing.T) {
		dir := app(t, ".env", "PATH=\n", "venv:.venv", "", "tool", "")
		require.NoError(t, os.Chmod(filepath.Join(dir, "tool"), 0o755))
		bin := filepath.Join(dir, ".venv", "bin")
		p, err := Build(Config{AppDir: dir, Command: true, Args: []string{"python"}}, []string{"PATH=/bin"})
		require.NoError(t, err)
		assert.Equal(t, bin, value(t, p, "PATH"))
		_, err = Build(Config{AppDir: dir, Command: true, Args: []string{"tool"}}, nil)
		assert.Equal(t, ExitNotFound, ExitCode(err), "found in the app directory: %v", err)
	})
	t.Run("no virtualenv: PATH as inherited", func(t *testing.T) {
		// runapp leaves PATH alone, and finds what execvp in the program
		// would: an empty entry is the app directory.
		dir := app(t, ".env", "", "tool", "")
		require.NoError(t, os.Chmod(filepath.Join(dir, "tool"), 0o755))
		p, err := Build(Config{AppDir: dir, Command: true, Args: []string{"tool"}}, []string{"PATH=/bin::/usr/bin"})
		require.NoError(t, err)
		assert.Equal(t, "/bin::/usr/bin", value(t, p, "PATH"))
		assert.Equal(t, filepath.Join(dir, "tool"), p.Program)
	})
	t.Run("pythonpath flags", func(t *testing.T) {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "lib", "a"), 0o755))
		p, err := Build(Config{AppDir: dir, Command: true, Args: []string{"python"}, PythonPath: []string{"lib/a", filepath.Join(dir, "lib", "a"), "lib"}}, []string{"PYTHONPATH="})
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(dir, "lib", "a")+":"+filepath.Join(dir, "lib"), value(t, p, "PYTHONPATH"))
	})
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		cfg   Config
		code  int
		msg   []string
	}{
		{"bad env file, every line", []string{".env", "A=$SECRETVALUE\nB=ok\nC=x y\n"}, Config{}, ExitConfig,
			[]string{".env:1: A:", ".env:3: C:"}},
		{"missing env file", nil, Config{EnvFiles: []string{"prod.env"}}, ExitConfig, []string{"prod.env does not exist", "--env-file -prod.env"}},
		{"missing venv flag", []string{".env", ""}, Config{Venv: "nope"}, ExitConfig, []string{"given by --venv does not exist"}},
		{"missing venv from .env", []string{".env", "VIRTUAL_ENV=/secret/place\n"}, Config{}, ExitConfig, []string{"VIRTUAL_ENV (.env:1) does not exist"}},
		{"no wsgi", []string{".env", "", "venv:.venv", ""}, Config{}, ExitConfig, []string{"no Django WSGI module found"}},
		{"no wsgi, PYTHONPATH from .env not shown", []string{".env", "PYTHONPATH=/secret/place:/other\n", "venv:.venv", ""}, Config{}, ExitConfig, []string{"and 2 more PYTHONPATH entries"}},
		{"wsgi.py in a directory that is no package", []string{".env", "", "venv:.venv", "", "my-site/wsgi.py", ""}, Config{}, ExitConfig, []string{"no Django WSGI module found"}},
		{"two wsgi", []string{".env", "", "venv:.venv", "", "a/wsgi.py", "", "src/b/wsgi.py", ""}, Config{}, ExitConfig, []string{"several WSGI modules", "a.wsgi", "b.wsgi"}},
		{"server not found", []string{".env", ""}, Config{Server: "nosuchserver"}, ExitNotFound, []string{"nosuchserver: not found"}},
		{"server not executable", []string{".env", "", "srv", "#!/bin/sh\n"}, Config{Server: "./srv"}, ExitCannotRun, []string{"not executable", "chmod +x"}},
		{"exec without command", []string{".env", ""}, Config{Command: true}, ExitUsage, []string{"no command given"}},
		{"app dir missing", nil, Config{AppDir: "/nonexistent/app"}, ExitConfig, []string{"cannot use app directory"}},
		{"pythonpath missing", []string{".env", ""}, Config{PythonPath: []string{"nope"}}, ExitConfig, []string{"--pythonpath"}},
		{"half-made .venv", []string{".env", "", ".venv/pyvenv.cfg", "home = /usr/bin\n", ".venv/bin/", ""}, Config{Command: true, Args: []string{"sh"}}, ExitConfig, []string{".venv has a pyvenv.cfg but no bin/python", "python3 -m venv --clear"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := app(t, tt.files...)
			cfg := tt.cfg
			if cfg.AppDir == "" {
				cfg.AppDir = dir
			}
			_, err := Build(cfg, []string{"PATH=/usr/bin:/bin"})
			require.Error(t, err)
			assert.Equal(t, tt.code, ExitCode(err))
			for _, m := range tt.msg {
				assert.Contains(t, err.Error(), m)
			}
			assert.NotContains(t, err.Error(), "SECRETVALUE")
			assert.NotContains(t, err.Error(), "/secret/place")
		})
	}
}

func TestBuildGunicornConfigSkipsDetection(t *testing.T) {
	dir := app(t, ".env", "", "venv:.venv", "", "gunicorn.conf.py", "wsgi_app = 'x.wsgi'\n")
	p, err := Build(Config{AppDir: dir}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"gunicorn"}, p.Argv)
}

// The application is found for every program server.Lookup takes for
// gunicorn, by name or path, and for no other.
func TestBuildDetectsAppForGunicornByAnyName(t *testing.T) {
	dir := app(t, ".env", "", "venv:.venv", "", "src/project/wsgi.py", "")
	for _, name := range []string{"gunicorn3", "gunicorn-wrapper"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, ".venv", "bin", name), []byte("#!/bin/sh\n"), 0o755))
	}
	tests := map[string][]string{
		"gunicorn":                  {"gunicorn", "project.wsgi"},
		"gunicorn3":                 {"gunicorn3", "project.wsgi"},
		".venv/bin/gunicorn3":       {".venv/bin/gunicorn3", "project.wsgi"},
		dir + "/.venv/bin/gunicorn": {dir + "/.venv/bin/gunicorn", "project.wsgi"},
		"gunicorn-wrapper":          {"gunicorn-wrapper"},
	}
	for server, want := range tests {
		p, err := Build(Config{AppDir: dir, Server: server}, []string{"PATH=/usr/bin:/bin"})
		require.NoError(t, err, server)
		assert.Equal(t, want, p.Argv, server)
	}
}

func TestExecSeam(t *testing.T) {
	dir := app(t, ".env", "A=1\n", "venv:.venv", "")
	p, err := Build(Config{AppDir: dir, Args: []string{"--bind", "127.0.0.1:1", "m.wsgi"}}, []string{"PATH=/bin"})
	require.NoError(t, err)

	var gotPath string
	var gotArgv, gotEnv []string
	orig := execve
	execve = func(path string, argv, env []string) error {
		gotPath, gotArgv, gotEnv = path, argv, env
		wd, err := os.Getwd()
		require.NoError(t, err)
		assert.Equal(t, dir, wd)
		return os.ErrPermission
	}
	wd, err := os.Getwd()
	require.NoError(t, err)
	t.Cleanup(func() {
		execve = orig
		require.NoError(t, os.Chdir(wd))
	})

	err = Exec(p)
	require.Error(t, err)
	assert.Equal(t, ExitCannotRun, ExitCode(err))
	assert.Equal(t, p.Program, gotPath)
	assert.Equal(t, []string{"gunicorn", "--bind", "127.0.0.1:1", "m.wsgi"}, gotArgv)
	assert.Contains(t, gotEnv, "A=1")
	assert.Equal(t, p.Environ(), gotEnv)
}

// TestInterpreterMissing: Build leaves a script's #! to Exec, which reads
// it only when execve fails; Verify and Inspect read it at once.
func TestInterpreterMissing(t *testing.T) {
	dir := app(t, ".env", "", "venv:.venv", "")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "run"), []byte("#!/nonexistent/python3\n"), 0o755))
	cfg := Config{AppDir: dir, Server: "./run"}
	want := []string{dir + "/run starts with #!/nonexistent/python3", "recreate it"}

	p, err := Build(cfg, []string{"PATH=/usr/bin:/bin"})
	require.NoError(t, err)
	for _, err := range []error{p.Verify(), execFailing(t, p, unix.ENOENT)} {
		require.Error(t, err)
		assert.Equal(t, ExitCannotRun, ExitCode(err))
		for _, m := range want {
			assert.Contains(t, err.Error(), m)
		}
	}
	// Other failures of execve are reported as they are; E2BIG is the
	// configuration's (issue 11), even when CheckSize cannot say more.
	err = execFailing(t, p, unix.E2BIG)
	assert.Equal(t, ExitConfig, ExitCode(err))
	assert.Contains(t, err.Error(), "cannot run "+dir+"/run: argument list too long")
	err = execFailing(t, p, unix.EIO)
	assert.Equal(t, ExitCannotRun, ExitCode(err))
	assert.Contains(t, err.Error(), "cannot run "+dir+"/run: input/output error")

	_, failures := Inspect(cfg, []string{"PATH=/usr/bin:/bin"})
	require.Len(t, failures, 1)
	assert.Equal(t, StepProgram, failures[0].Step)
	assert.Contains(t, failures[0].Err.Error(), want[0])
}

// execFailing runs Exec(p) with an execve that fails with errno.
func execFailing(t *testing.T, p *Plan, errno error) error {
	t.Helper()
	orig := execve
	execve = func(string, []string, []string) error { return errno }
	wd, err := os.Getwd()
	require.NoError(t, err)
	defer func() {
		execve = orig
		require.NoError(t, os.Chdir(wd))
	}()
	return Exec(p)
}

func TestEnvFiles(t *testing.T) {
	tests := []struct {
		names []string
		want  []EnvFileRef
	}{
		{nil, []EnvFileRef{{Given: ".env", Name: ".env", Path: "/srv/app/.env"}}},
		{[]string{"-local.env", "/etc/app.env", "-/etc/opt.env", "conf/prod.env"}, []EnvFileRef{
			{Given: "-local.env", Name: "local.env", Path: "/srv/app/local.env", Optional: true},
			{Given: "/etc/app.env", Name: "/etc/app.env", Path: "/etc/app.env"},
			{Given: "-/etc/opt.env", Name: "/etc/opt.env", Path: "/etc/opt.env", Optional: true},
			{Given: "conf/prod.env", Name: "conf/prod.env", Path: "/srv/app/conf/prod.env"},
		}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, EnvFiles("/srv/app", tt.names), "%q", tt.names)
	}
}

// NoEnvFiles reads no file at all: not the default .env, not one named.
func TestBuildNoEnvFiles(t *testing.T) {
	dir := app(t, ".env", "A=file\n", "other.env", "B=x\n", "venv:.venv", "", "src/project/wsgi.py", "")
	for _, names := range [][]string{nil, {"other.env", "missing.env"}} {
		p, err := Build(Config{AppDir: dir, EnvFiles: names, NoEnvFiles: true}, []string{"A=inherited"})
		require.NoError(t, err)
		assert.Equal(t, "inherited", value(t, p, "A"))
		_, ok := p.Lookup("B")
		assert.False(t, ok)
	}
	// An empty list is the default .env.
	p, err := Build(Config{AppDir: dir, EnvFiles: []string{}}, nil)
	require.NoError(t, err)
	assert.Equal(t, "file", value(t, p, "A"))
}

// TestCheckSize: the sizes execve would refuse, and the file to blame.
func TestCheckSize(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	p := &Plan{Program: "/usr/bin/true", Argv: []string{"true"}}
	for i := range 70 { // 7 MiB: more than execve passes with any stack limit
		p.Env = append(p.Env, Var{Name: fmt.Sprintf("B%d", i), Value: big, Origin: FromFile, File: ".env", Line: i + 1})
	}
	p.Env = append(p.Env, Var{Name: "I", Value: big, Origin: Inherited})
	err := p.CheckSize()
	require.Error(t, err)
	assert.Equal(t, ExitConfig, ExitCode(err))
	assert.Contains(t, err.Error(), "the environment and arguments take 7100 KiB")
	assert.Contains(t, err.Error(), ".env sets 7000 KiB of it")

	p.Env = p.Env[:3]
	require.NoError(t, p.CheckSize())
	p.Env[0].Value = strings.Repeat("x", 128<<10)
	err = p.CheckSize()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "B0 (.env:1) is 128 KiB long; Linux passes at most 128 KiB in one variable")
}

// Whether runapp looks for the application is the server's own reading of
// its arguments: options alone name none (--fd 3 from a socket unit,
// --workers), so the Django project's module is added after them; an
// application argument, a gunicorn --config or --paste that may name it,
// or arguments the server would refuse, leave the arguments as given.
func TestBuildDetectsAppAfterOptions(t *testing.T) {
	dir := app(t, ".env", "", "venv:.venv", "", "src/project/wsgi.py", "", "src/project/asgi.py", "")
	for _, name := range []string{"uvicorn", "hypercorn", "daphne"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, ".venv", "bin", name), []byte("#!/bin/sh\n"), 0o755))
	}
	tests := []struct {
		server string
		args   []string
		want   []string // after the server's name
	}{
		{"uvicorn", []string{"--fd", "3"}, []string{"--fd", "3", "project.asgi:application"}},
		{"uvicorn", []string{"--fd", "3", "api:app"}, []string{"--fd", "3", "api:app"}},
		{"uvicorn", []string{"--port"}, []string{"--port"}}, // refused: uvicorn says why
		{"hypercorn", []string{"--bind", "fd://3"}, []string{"--bind", "fd://3", "project.asgi:application"}},
		{"daphne", []string{"-e", "systemd:domain=INET:index=0"}, []string{"-e", "systemd:domain=INET:index=0", "project.asgi:application"}},
		{"gunicorn", []string{"--workers", "2"}, []string{"--workers", "2", "project.wsgi"}},
		{"gunicorn", []string{"-k", "uvicorn.workers.UvicornWorker", "--"}, []string{"-k", "uvicorn.workers.UvicornWorker", "--", "project.wsgi"}},
		{"gunicorn", []string{"-c", "conf.py"}, []string{"-c", "conf.py"}},
		{"gunicorn", []string{"--paste", "prod.ini"}, []string{"--paste", "prod.ini"}},
		{"gunicorn", []string{"-w", "2", "shop.wsgi"}, []string{"-w", "2", "shop.wsgi"}},
	}
	for _, tt := range tests {
		p, err := Build(Config{AppDir: dir, Server: tt.server, Args: tt.args}, []string{"PATH=/usr/bin:/bin"})
		require.NoError(t, err, "%s %q", tt.server, tt.args)
		assert.Equal(t, append([]string{tt.server}, tt.want...), p.Argv, "%s %q", tt.server, tt.args)
	}
}
