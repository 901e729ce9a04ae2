package server

// Differential tests: what this package reads is compared with what
// gunicorn reads itself, and tests of what the table says of gunicorn.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
)

func TestGunicornOptionsMatchGunicorn(t *testing.T) {
	var settings []struct {
		Name   string   `json:"name"`
		CLI    []string `json:"cli"`
		Action string   `json:"action"`
	}
	testenv.PythonJSON(t, &settings, `
import json, gunicorn.config as c
print(json.dumps([{"name": s.name, "cli": s.cli or [], "action": s.action or ""} for s in c.KNOWN_SETTINGS]))
`)
	require.NotEmpty(t, settings)
	for _, s := range settings {
		for _, opt := range s.CLI {
			name, valued := lookupOpt(gunicornValued[:], opt)
			if strings.HasPrefix(s.Action, "store_") {
				assert.False(t, valued, "%s is a flag in gunicorn", opt)
				continue
			}
			if assert.True(t, valued, "%s takes a value in gunicorn (%s)", opt, s.Name) {
				assert.Equal(t, s.Name, name, opt)
			}
		}
	}
	for _, f := range gunicornFlags {
		opt, name := f.opt, f.setting
		found := false
		for _, s := range settings {
			found = found || s.Name == name && strings.HasPrefix(s.Action, "store_") && slices.Contains(s.CLI, opt)
		}
		assert.True(t, found, "%s is gunicorn's flag for %s", opt, name)
	}
}

func TestParseGunicornArgsMatchesGunicorn(t *testing.T) {
	cmdLines := [][]string{
		{"project.wsgi"},
		{"-b", ":80", "-Db:81", "--graceful-timeout=5", "app.wsgi:application"},
		{"--bind=unix:/run/app.sock", "--workers", "3", "--pid", "/run/p", "project.wsgi"},
		{"-w4", "-k", "gthread", "--threads", "2", "--preload", "-c", "conf.py", "x.wsgi"},
		{"--daemon", "--log-level", "debug", "--access-logfile", "-", "--", "-weird.module"},
		{"--chdir", "/srv/app", "--pythonpath", "a,b", "-e", "X=1", "--env", "Y=2", "m"},
		{"--reload", "--check-config", "-R", "--no-sendfile", "--capture-output", "m:app"},
		{"-p", "p.pid", "-Dw", "2", "-t", "60", "--max-requests=100", "m"},
	}
	for _, args := range cmdLines {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var ref map[string]any
			testenv.PythonJSON(t, &ref, `
import json, sys, gunicorn.config as c
ns = vars(c.Config().parser().parse_args(sys.argv[1:]))
print(json.dumps({k: v for k, v in ns.items() if v is not None}))
`, args...)
			settings, positional, err := ParseGunicornArgs(args)
			require.NoError(t, err)
			refArgs, _ := ref["args"].([]any)
			assert.Equal(t, len(refArgs), len(positional), "positional arguments")
			for i := range min(len(refArgs), len(positional)) {
				assert.Equal(t, refArgs[i], positional[i])
			}
			for _, name := range []string{"bind", "daemon", "pidfile", "graceful_timeout", "config", "chdir", "pythonpath", "preload_app"} {
				want, ok := ref[name]
				got, have := settings[name]
				assert.Equal(t, ok, have, "%s set", name)
				if !ok || !have {
					continue
				}
				switch w := want.(type) {
				case []any:
					assert.Equal(t, fmt.Sprint(w), fmt.Sprint(got), name)
				case bool:
					assert.Equal(t, []string{"True"}, got, name)
				default:
					assert.Equal(t, fmt.Sprint(w), got[len(got)-1], name)
				}
			}
		})
	}
}

func TestGunicornBindMatchesGunicorn(t *testing.T) {
	binds := []string{"0.0.0.0:80", ":443", "[::]:8443", "[::1]", "localhost", "tcp://1.2.3.4:1024", "tcp://host", "a:80:90", "", "unix:/run/a.sock", "unix:///run/b.sock", "fd://3"}
	var ref []any
	testenv.PythonJSON(t, &ref, `
import json, sys, gunicorn.util as u
print(json.dumps([u.parse_address(b) for b in sys.argv[1:]]))
`, binds...)
	require.Len(t, ref, len(binds))
	for i, addr := range binds {
		b := GunicornBind(addr)
		assert.Equal(t, addr, b.Addr)
		switch want := ref[i].(type) {
		case []any: // [host, port]
			require.True(t, b.TCP, addr)
			assert.Equal(t, fmt.Sprint(want[1]), fmt.Sprint(b.Port), addr)
			assert.Empty(t, b.Unix, addr)
		case string: // a unix socket path
			assert.False(t, b.TCP, addr)
			assert.Equal(t, want, b.Unix, addr)
		default: // an fd:// file descriptor
			assert.False(t, b.TCP, addr)
			assert.Empty(t, b.Unix, addr)
		}
	}
}

func TestSplitGunicornCmdArgsMatchesShlex(t *testing.T) {
	inputs := []string{
		`--bind :80 --daemon`,
		`  --log-level   debug  `,
		`--access-logformat '%(h)s %(r)s' -b "0.0.0.0:80"`,
		`a\ b "c\"d" 'e\f' "g\\h" "i\$j" "k\l"`,
		`x"y"z 'a'"b"c`,
		``,
		"tab\tsep\nnewline",
	}
	var ref [][]string
	testenv.PythonJSON(t, &ref, `
import json, shlex, sys
print(json.dumps([shlex.split(s) for s in sys.argv[1:]]))
`, inputs...)
	for i, in := range inputs {
		got, err := SplitGunicornCmdArgs(in)
		require.NoError(t, err, in)
		if len(ref[i]) == 0 {
			assert.Empty(t, got, in)
			continue
		}
		assert.Equal(t, ref[i], got, "%q", in)
	}
	for _, bad := range []string{`'open`, `"open`} {
		_, err := SplitGunicornCmdArgs(bad)
		assert.Error(t, err, bad)
	}
}

// The version gunicorn prints is the version gunicorn's package has,
// whatever its program is called: argparse names it by its argv[0].
func TestGunicornVersionMatchesGunicorn(t *testing.T) {
	var ref string
	testenv.PythonJSON(t, &ref, `
import json, gunicorn
print(json.dumps(gunicorn.__version__))
`)
	dir := t.TempDir()
	// An entry point as pip writes it (Debian's python3-gunicorn has none).
	script := "#!" + testenv.DebianPython + "\nimport sys\nfrom gunicorn.app.wsgiapp import run\nif __name__ == '__main__':\n    sys.exit(run())\n"
	for _, name := range []string{"gunicorn", "gunicorn3"} {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(script), 0o755))
		srv := Lookup(path)
		require.NotNil(t, srv, name)
		v, err := srv.Version(Probe{Program: path, Env: []string{"PATH=/usr/bin:/bin"}, Dir: dir})
		require.NoError(t, err, name)
		assert.Equal(t, ref, v, name)
		notifies, err := srv.Notifies(v)
		require.NoError(t, err)
		assert.True(t, notifies, "Debian 12's gunicorn %s sends READY=1", v)
	}
}

// The worker class is read from -k and --worker-class, the last one winning,
// and GunicornASGIWorker says which classes serve ASGI: those gunicorn loads
// as a subclass of uvicorn's worker.
func TestGunicornWorkerClass(t *testing.T) {
	for args, want := range map[string]string{
		"project.wsgi":     "",
		"-k gthread x:app": "gthread",
		"-kuvicorn.workers.UvicornWorker api:app":                 "uvicorn.workers.UvicornWorker",
		"--worker-class=sync -k uvicorn.workers.UvicornH11Worker": "uvicorn.workers.UvicornH11Worker",
	} {
		a, err := gunicorn.ReadArgs(strings.Fields(args))
		require.NoError(t, err, args)
		assert.Equal(t, want, a.Worker, args)
	}

	classes := []string{"sync", "gthread", "gunicorn.workers.sync.SyncWorker",
		"uvicorn.workers.UvicornWorker", "uvicorn.workers.UvicornH11Worker"}
	var asgi map[string]bool
	testenv.PythonJSON(t, &asgi, `
import json, sys
from gunicorn.util import load_class
from uvicorn.workers import UvicornWorker
print(json.dumps({c: issubclass(load_class(c), UvicornWorker) for c in sys.argv[1:]}))
`, classes...)
	for _, c := range classes {
		assert.Equal(t, asgi[c], GunicornASGIWorker(c), c)
	}
}
