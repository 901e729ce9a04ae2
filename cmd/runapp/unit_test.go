package main

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/unitgen"
)

// runIn calls run as main would, returning the output and exit code.
func runIn(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(args, &out, &errOut)
	if err != nil {
		errOut.WriteString("runapp: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), launcher.ExitCode(err)
}

// fixed are the flags that make unit depend on nothing of this machine but
// the user database.
var fixed = []string{"--user", "www-data", "--runapp", "/usr/local/bin/runapp", "--gunicorn-version", "20.1.0"}

func TestUnitPrintsService(t *testing.T) {
	dir := appDir(t, "SECRET_KEY='"+secret+"'\n")
	args := append([]string{"unit", "--app-dir", dir, "--writable", dir + "/media", "--after", "postgresql.service"}, fixed...)
	stdout, stderr, code := runIn(t, append(args, "--", "--bind", "0.0.0.0:80", "project.wsgi")...)
	require.Equal(t, 0, code, stderr)
	o := unitgen.Options{
		Config:        launcher.Config{AppDir: dir, Args: []string{"--bind", "0.0.0.0:80", "project.wsgi"}},
		Runapp:        "/usr/local/bin/runapp",
		Name:          filepath.Base(dir),
		User:          "www-data",
		Group:         "www-data", // www-data's primary group
		Writable:      []string{dir + "/media"},
		After:         []string{"postgresql.service"},
		ServerVersion: "20.1.0",
		// gunicorn's one TCP bind becomes a socket unit by default.
		Listen: "0.0.0.0:80",
	}
	want, err := unitgen.Service(o)
	require.NoError(t, err)
	socket, err := unitgen.Socket(o)
	require.NoError(t, err)
	assert.Equal(t, want+"\n"+socket, stdout)
	assert.Contains(t, stdout, "\nExecStart=/usr/local/bin/runapp --app-dir "+dir+" --env-file .env -- --bind 0.0.0.0:80 project.wsgi\n")
	assert.NotContains(t, stdout+stderr, secret)
}

// A socket unit by default when SERVER-ARGS bind one TCP address of a
// server that takes the socket from LISTEN_FDS itself, and none with
// --socket none, when the address is not known for sure, or for a server
// that needs its bind arguments replaced to take the socket.
func TestUnitSocketByDefault(t *testing.T) {
	dir := appDir(t, "SECRET_KEY='"+secret+"'\n")
	for _, tc := range []struct {
		name   string
		args   []string
		listen string
	}{
		{"one bind", []string{"--", "--bind", "127.0.0.1:8000", "project.wsgi"}, "127.0.0.1:8000"},
		{"short option", []string{"--", "-b", "[::1]:8000", "project.wsgi"}, "[::1]:8000"},
		{"socket none", []string{"--socket", "none", "--", "--bind", "0.0.0.0:80", "project.wsgi"}, ""},
		{"socket given", []string{"--socket", "8001", "--", "--bind", "0.0.0.0:80", "project.wsgi"}, "8001"},
		{"no bind", []string{"--", "project.wsgi"}, ""},
		{"two binds", []string{"--", "-b", "127.0.0.1:8000", "-b", "[::1]:8000", "project.wsgi"}, ""},
		{"unix bind", []string{"--", "-b", "unix:/run/shop/web.sock", "project.wsgi"}, ""},
		{"host name", []string{"--", "-b", "localhost:8000", "project.wsgi"}, ""},
		// uvicorn takes systemd's socket only with --fd 3 in place of its
		// own bind, which would mean rewriting the arguments given: it binds
		// itself, as told.
		// (No --gunicorn-version for them: fixed[:4].)
		{"uvicorn", []string{"--server", "uvicorn", "--", "--host", "127.0.0.1", "--port", "8000", "project.asgi:application"}, ""},
		{"hypercorn", []string{"--server", "hypercorn", "--", "--bind", "127.0.0.1:8000", "project.asgi:application"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flags := fixed
			if tc.args[0] == "--server" {
				flags = fixed[:4]
			}
			args := append([]string{"unit", "--app-dir", dir}, flags...)
			stdout, stderr, code := runIn(t, append(args, tc.args...)...)
			require.Equal(t, 0, code, stderr)
			if tc.listen == "" {
				assert.NotContains(t, stdout, "[Socket]")
				return
			}
			assert.Contains(t, stdout, "\n[Socket]\nListenStream="+tc.listen+"\n")
			assert.Contains(t, stdout, "stop both with systemctl stop ")
		})
	}
}

// The flags in ExecStart= recreate the configuration: runapp env given them
// prints what it prints given the flags the unit was made from, relative
// paths and all.
func TestUnitExecStartRecreatesConfiguration(t *testing.T) {
	dir := appDir(t, "SECRET_KEY='"+secret+"'\nDEBUG=1\n")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "local.env"), []byte("DEBUG=0\n"), 0o600))
	flags := []string{"--app-dir", dir, "--env-file", ".env", "--env-file", "-local.env", "--env-file", "-missing.env", "--venv", ".venv", "--pythonpath", "src", "--server", "gunicorn"}
	serverArgs := []string{"--bind", "127.0.0.1:8000", "--env", "X=$HOME 100% \"q\"", "project.wsgi"}

	stdout, stderr, code := runIn(t, append(append(append([]string{"unit"}, flags...), fixed...), append([]string{"--"}, serverArgs...)...)...)
	require.Equal(t, 0, code, stderr)
	argv, err := unitgen.ExecArgv(unitgen.Options{
		Config: launcher.Config{AppDir: dir, EnvFiles: []string{".env", "-local.env", "-missing.env"}, Venv: ".venv", PythonPath: []string{"src"}, Server: "gunicorn", Args: serverArgs},
		Runapp: "/usr/local/bin/runapp", Name: "x", User: "www-data",
	})
	require.NoError(t, err)
	assert.Contains(t, stdout, "--venv "+dir+"/.venv --pythonpath "+dir+"/src --server gunicorn")

	env := func(args []string) string {
		t.Helper()
		out, stderr, code := runIn(t, append([]string{"env", "--show-values"}, args...)...)
		require.Equal(t, 0, code, stderr)
		return out
	}
	want := env(append(append(flags, "--"), serverArgs...))
	assert.Equal(t, want, env(argv[1:]))
	assert.Contains(t, want, "DEBUG=0")
}

func TestUnitAsksGunicornItsVersion(t *testing.T) {
	testenv.LookPath(t, "/usr/bin/python3")
	dir := appDir(t, "")
	venv := filepath.Join(t.TempDir(), "venv")
	if out, err := exec.Command("../../scripts/mkvenv", venv).CombinedOutput(); err != nil {
		testenv.Skip(t, "cannot make a virtualenv with gunicorn: "+string(out))
	}
	// Run as root, runapp asks gunicorn as the service's user.
	for _, d := range []string{filepath.Dir(dir), dir, filepath.Dir(venv)} {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	base := []string{"unit", "--app-dir", dir, "--venv", venv, "--user", "www-data", "--runapp", "/usr/local/bin/runapp"}
	tests := []struct {
		name  string
		args  []string
		lines []string
		not   []string
	}{
		{"real gunicorn 20.1", nil, []string{"Type=notify", "NotifyAccess=main", "TimeoutStopSec=40"}, nil},
		{"older gunicorn", []string{"--gunicorn-version", "19.9.0"}, []string{"Type=exec", "TimeoutStopSec=40"}, []string{"NotifyAccess"}},
		{"not gunicorn", []string{"--gunicorn-version", "none"}, []string{"Type=exec", "TimeoutStopSec=40"}, []string{"NotifyAccess", "ExecReload", "AmbientCapabilities"}},
		{"graceful timeout", []string{"--", "--graceful-timeout", "120", "project.wsgi"}, []string{"Type=notify", "TimeoutStopSec=130"}, nil},
		{"another server", []string{"--server", "/bin/true"}, []string{"Type=exec", "TimeoutStopSec=40"}, []string{"ExecReload", "AmbientCapabilities"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runIn(t, append(base, tt.args...)...)
			require.Equal(t, 0, code, stderr)
			for _, l := range tt.lines {
				assert.Contains(t, stdout, "\n"+l+"\n")
			}
			for _, l := range tt.not {
				assert.NotContains(t, stdout, "\n"+l)
			}
			// What runapp could not know is said on stderr, for a
			// server it does not know only.
			if strings.Contains(stdout, "ExecReload=") {
				assert.NotContains(t, stderr, "notice")
			} else {
				assert.Contains(t, stderr, "runapp: notice: ")
				assert.Contains(t, stderr, "readiness: Type=exec")
			}
		})
	}

	// A broken env file does not stop the unit: gunicorn is asked without
	// it, and runapp says so (without the values).
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte("SECRET_KEY="+secret+" # comment\n"), 0o600))
	stdout, stderr, code := runIn(t, base...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "\nType=notify\n")
	assert.Contains(t, stderr, "runapp: warning: ")
	assert.Contains(t, stderr, ".env:1")
	assert.Contains(t, stderr, "without the env files")
	assert.NotContains(t, stderr, secret)

	// A gunicorn that does not say its version (appDir's is an empty
	// script), or none at all: the message says how to skip asking.
	_, stderr, code = runIn(t, append(base[:3], "--user", "www-data", "--runapp", "/usr/local/bin/runapp")...)
	assert.Equal(t, launcher.ExitConfig, code)
	assert.Contains(t, stderr, "cannot tell the version of "+dir+"/.venv/bin/gunicorn")
	assert.Contains(t, stderr, "give --gunicorn-version")
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), nil, 0o600))
	_, stderr, code = runIn(t, append(base[:3], "--user", "www-data", "--runapp", "/usr/local/bin/runapp", "--server", "gunicorn3")...)
	assert.Equal(t, launcher.ExitNotFound, code)
	assert.Contains(t, stderr, "gunicorn3: not found")
	assert.Contains(t, stderr, "give --gunicorn-version")
}

// gunicorn is recognised by one rule (server.Lookup) for the unit as for
// app detection: gunicorn3 is asked its version and gets its unit; a
// program that is not gunicorn is not, and --gunicorn-version does not make
// it one.
func TestUnitKnowsGunicornByAnyName(t *testing.T) {
	dir := appDir(t, "")
	// Run as root, runapp asks gunicorn as the service's user.
	for _, d := range []string{filepath.Dir(dir), dir} {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	bin := filepath.Join(dir, ".venv", "bin")
	require.NoError(t, os.WriteFile(filepath.Join(bin, "gunicorn3"), []byte("#!/bin/sh\necho \"$(basename \"$0\") (version 20.1.0)\"\n"), 0o755))
	base := []string{"unit", "--app-dir", dir, "--user", "www-data", "--runapp", "/usr/local/bin/runapp"}
	for _, server := range []string{"gunicorn3", ".venv/bin/gunicorn3"} {
		stdout, stderr, code := runIn(t, append(base, "--server", server)...)
		require.Equal(t, 0, code, stderr)
		assert.Contains(t, stdout, "\nType=notify\n", server)
		assert.Contains(t, stdout, "\nTimeoutStopSec=40\n", server)
	}

	stdout, stderr, code := runIn(t, append(base, "--server", "/bin/true")...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "\nType=exec\n")
	_, stderr, code = runIn(t, append(base, "--server", "/bin/true", "--gunicorn-version", "20.1.0")...)
	assert.Equal(t, launcher.ExitUsage, code)
	assert.Contains(t, stderr, "--server /bin/true is not gunicorn")
}

// gunicorn's version is asked as the service's user, not as root: the app's
// code is on its PYTHONPATH.
func TestUnitAsksAsTheServiceUser(t *testing.T) {
	testenv.Root(t)
	u, err := user.Lookup("www-data")
	require.NoError(t, err)
	dir := appDir(t, "")
	for _, d := range []string{filepath.Dir(dir), dir} {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	gunicorn := "#!/bin/sh\n[ \"$(id -u):$(id -g):$(id -G)\" = " + u.Uid + ":" + u.Gid + ":" + u.Gid + " ] && echo 'gunicorn (version 20.1.0)'\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".venv", "bin", "gunicorn"), []byte(gunicorn), 0o755))
	stdout, stderr, code := runIn(t, "unit", "--app-dir", dir, "--user", "www-data", "--runapp", "/usr/local/bin/runapp")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "\nType=notify\n")
}

// Only refused env files are passed over when asking gunicorn its version:
// without an env file that names a missing virtualenv, the version would be
// asked of another gunicorn than the one the unit runs.
func TestUnitAsksTheUnitsGunicorn(t *testing.T) {
	dir := appDir(t, "VIRTUAL_ENV=/nonexistent/venv\n")
	_, stderr, code := runIn(t, "unit", "--app-dir", dir, "--user", "www-data", "--runapp", "/usr/local/bin/runapp")
	assert.Equal(t, launcher.ExitConfig, code)
	assert.Contains(t, stderr, "VIRTUAL_ENV (.env:1)")
	assert.Contains(t, stderr, "give --gunicorn-version")
	assert.NotContains(t, stderr, "warning")
}

// Each failure that stops runapp unit asking the version is told in its own
// words: a refused .env is only a warning, and says nothing about a missing
// server or virtualenv.
func TestUnitReportsEachFailure(t *testing.T) {
	dir := appDir(t, "SECRET_KEY="+secret+" # comment\n")
	args := []string{"unit", "--app-dir", dir, "--user", "www-data", "--runapp", "/usr/local/bin/runapp"}

	_, stderr, code := runIn(t, append(args, "--server", "/nonexistent/gunicorn")...)
	assert.Equal(t, launcher.ExitNotFound, code)
	assert.Contains(t, stderr, "runapp: /nonexistent/gunicorn: not found (runapp unit asks")
	assert.NotContains(t, stderr, secret)

	_, stderr, code = runIn(t, append(args, "--venv", "/nonexistent/venv", "--server", "/nonexistent/gunicorn")...)
	assert.Equal(t, launcher.ExitConfig, code, "the first failure's code")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	require.Len(t, lines, 2, stderr)
	assert.Contains(t, lines[0], "/nonexistent/venv")
	assert.Contains(t, lines[1], "/nonexistent/gunicorn: not found")
	assert.NotContains(t, stderr, ".env:1")
}

func TestUnitWrite(t *testing.T) {
	dir := appDir(t, "")
	out := t.TempDir()
	args := append([]string{"unit", "--app-dir", dir, "--name", "shop", "--socket", "/run/shop/shop.sock"}, fixed...)
	printed, stderr, code := runIn(t, args...)
	require.Equal(t, 0, code, stderr)

	stdout, stderr, code := runIn(t, append(args, "--write", out)...)
	require.Equal(t, 0, code, stderr)
	service, socket := filepath.Join(out, "shop.service"), filepath.Join(out, "shop.socket")
	assert.Equal(t, service+"\n"+socket+"\n", stdout)
	s, err := os.ReadFile(service)
	require.NoError(t, err)
	k, err := os.ReadFile(socket)
	require.NoError(t, err)
	assert.Equal(t, printed, string(s)+"\n"+string(k))
	assert.Contains(t, string(k), "\nListenStream=/run/shop/shop.sock\nSocketUser=www-data\nSocketGroup=www-data\nSocketMode=0660\n")
	assert.Contains(t, string(s), "\nRequires=shop.socket\nAfter=network.target shop.socket\n")
	fi, err := os.Stat(service)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no temporary files left")
}

func TestUnitBadInput(t *testing.T) {
	dir := appDir(t, "")
	rootOwned := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unit name", []string{"--name", "my shop"}, 2, `unit name "my shop" is not valid`},
		{"relative writable", []string{"--writable", "media"}, 2, "is not an absolute path"},
		{"newline", []string{"--description", "a\nb"}, 2, "contains a newline"},
		{"newline in server argument", []string{"--", "a\nb"}, 2, "contains a newline"},
		{"socket", []string{"--socket", "localhost:80"}, 2, "numeric address"},
		{"hardening", []string{"--hardening", "paranoid"}, 2, "want strict, basic or none"},
		{"after", []string{"--after", "postgresql"}, 2, "not a unit name"},
		{"unknown flag", []string{"--port", "80"}, 2, "flag provided but not defined"},
		{"stray argument", []string{"project.wsgi"}, 2, "server arguments go after --"},
		{"relative runapp", []string{"--runapp", "bin/runapp"}, 2, "not an absolute path"},
		{"no such user", []string{"--user", "nosuchuser"}, 78, `user "nosuchuser" does not exist`},
		{"malformed user", []string{"--user", "a b"}, 2, `--user "a b"`},
		{"malformed group", []string{"--group", "-x"}, 2, `--group "-x"`},
		{"no such group", []string{"--group", "nosuchgroup"}, 78, `group "nosuchgroup" does not exist`},
		{"version", []string{"--gunicorn-version", "new"}, 2, "not a version number"},
		{"missing app dir", []string{"--app-dir", "/nonexistent/app", "--user", ""}, 78, "cannot use app directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			args := append([]string{"unit", "--app-dir", dir}, fixed...)
			args = append(append(args, "--write", out), tt.args...)
			stdout, stderr, code := runIn(t, args...)
			assert.Equal(t, tt.code, code)
			assert.Contains(t, stderr, tt.msg)
			assert.Empty(t, stdout)
			entries, err := os.ReadDir(out)
			require.NoError(t, err)
			assert.Empty(t, entries, "nothing written")
		})
	}

	// appDir's gunicorn prints no version: a bad option is told first.
	t.Run("bad option before asking gunicorn", func(t *testing.T) {
		_, stderr, code := runIn(t, "unit", "--app-dir", dir, "--user", "www-data", "--runapp", "/usr/local/bin/runapp", "--name", "my shop")
		assert.Equal(t, launcher.ExitUsage, code)
		assert.Contains(t, stderr, `unit name "my shop" is not valid`)
	})

	t.Run("write into a missing directory", func(t *testing.T) {
		_, stderr, code := runIn(t, append([]string{"unit", "--app-dir", dir, "--write", filepath.Join(rootOwned, "no")}, fixed...)...)
		assert.Equal(t, launcher.ExitConfig, code)
		assert.Contains(t, stderr, "cannot write units into")
	})
}

// Without --user the app runs as its directory's owner, never as root
// unless asked.
func TestUnitUser(t *testing.T) {
	testenv.Root(t)
	dir := appDir(t, "")
	base := []string{"unit", "--app-dir", dir, "--runapp", "/usr/local/bin/runapp", "--gunicorn-version", "20.1.0"}

	_, stderr, code := runIn(t, base...)
	assert.Equal(t, launcher.ExitConfig, code)
	assert.Contains(t, stderr, "belongs to root")
	assert.Contains(t, stderr, "give --user NAME")

	stdout, stderr, code := runIn(t, append(base, "--user", "root")...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "\nUser=root\nGroup=root\n")

	u, err := user.Lookup("www-data")
	require.NoError(t, err)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	require.NoError(t, os.Chown(dir, uid, gid))
	stdout, stderr, code = runIn(t, base...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "\nUser=www-data\nGroup=www-data\n")

	stdout, stderr, code = runIn(t, append(base, "--group", "nogroup")...)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "\nUser=www-data\nGroup=nogroup\n")
}

func TestUnitHelp(t *testing.T) {
	stdout, _, code := runIn(t, "unit", "-h")
	assert.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(stdout, "usage: "+unitSynopsis), stdout)
	assert.Contains(t, stdout, "-hardening")
}

// runapp unit --server uvicorn --socket 8000 with no SERVER-ARGS writes a
// unit that works: uvicorn is told to take fd 3, and the application is
// still found by runapp when the unit runs it.
func TestUnitUvicornSocket(t *testing.T) {
	dir := appDir(t, "")
	for _, d := range []string{filepath.Dir(dir), dir} {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	// uvicorn is not asked its version: nothing in the table depends on it.
	stdout, stderr, code := runIn(t, "unit", "--app-dir", dir, "--user", "www-data", "--runapp", "/usr/local/bin/runapp", "--server", "uvicorn", "--socket", "8000")
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stderr)
	assert.Contains(t, stdout, " --server uvicorn -- --fd 3\n")
	assert.Contains(t, stdout, "\nType=exec\n")
	assert.Contains(t, stdout, "\nListenStream=8000\n")
	assert.NotContains(t, stdout, "ExecReload=")
}
