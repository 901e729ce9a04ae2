package gunicorn

// Differential tests: what this package reads is compared with what
// gunicorn reads itself.

import (
	"fmt"
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
			name, valued := lookupOpt(valued[:], opt)
			if strings.HasPrefix(s.Action, "store_") {
				assert.False(t, valued, "%s is a flag in gunicorn", opt)
				continue
			}
			if assert.True(t, valued, "%s takes a value in gunicorn (%s)", opt, s.Name) {
				assert.Equal(t, s.Name, name, opt)
			}
		}
	}
	for _, f := range flags {
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
			settings, positional, err := ParseArgs(args)
			require.NoError(t, err)
			refArgs, _ := ref["args"].([]any)
			assert.Equal(t, len(refArgs), len(positional), "positional arguments")
			for i := range min(len(refArgs), len(positional)) {
				assert.Equal(t, refArgs[i], positional[i])
			}
			for _, name := range []string{"bind", "daemon", "pidfile", "graceful_timeout", "config", "chdir", "pythonpath"} {
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

func TestPortMatchesGunicorn(t *testing.T) {
	binds := []string{"0.0.0.0:80", ":443", "[::]:8443", "[::1]", "localhost", "tcp://1.2.3.4:1024", "tcp://host", "a:80:90", "", "unix:/run/a.sock", "unix:///run/b.sock", "fd://3"}
	var ref []any
	testenv.PythonJSON(t, &ref, `
import json, sys, gunicorn.util as u
print(json.dumps([u.parse_address(b) for b in sys.argv[1:]]))
`, binds...)
	require.Len(t, ref, len(binds))
	for i, b := range binds {
		port, tcp := Port(b)
		switch want := ref[i].(type) {
		case []any: // [host, port]
			require.True(t, tcp, b)
			if port == "" {
				port = fmt.Sprint(DefaultPort)
			}
			assert.Equal(t, fmt.Sprint(want[1]), port, b)
		case string: // a unix socket path
			assert.False(t, tcp, b)
			assert.Equal(t, want, UnixPath(b), b)
		default: // an fd:// file descriptor
			assert.False(t, tcp, b)
			assert.Empty(t, UnixPath(b), b)
		}
	}
}
