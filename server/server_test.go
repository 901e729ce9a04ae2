package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every name Names lists is recognised by Lookup as that server.
func TestNames(t *testing.T) {
	names := Names()
	require.NotEmpty(t, names)
	assert.Contains(t, names, "gunicorn")
	for _, name := range names {
		s := Lookup(name)
		if assert.NotNil(t, s, name) {
			assert.Equal(t, name, s.Name)
		}
	}
}

// One rule recognises a server, wherever runapp asks: --server gunicorn3
// is gunicorn for app detection as for the unit and check.
func TestLookup(t *testing.T) {
	tests := map[string]*Server{
		"gunicorn":                   &gunicorn,
		"gunicorn3":                  &gunicorn,
		"gunicorn3.11":               &gunicorn,
		"/srv/app/venv/bin/gunicorn": &gunicorn,
		"venv/bin/gunicorn3":         &gunicorn,
		"uwsgi":                      nil,
		"gunicorn_paster":            nil,
		"gunicorn-dev":               nil,
		"run-gunicorn":               nil,
		"/usr/bin/gunicorn/x":        nil,
		"/bin/true":                  nil,
		"3":                          nil,
		"":                           nil,
	}
	for program, want := range tests {
		assert.Same(t, want, Lookup(program), "%q", program)
	}
}

func TestNotifies(t *testing.T) {
	tests := map[string]bool{"20.0": true, "20.1.0": true, "23.0.0": true, "21.2.0b1": true, "20": true, "19.9.0": false, "19.10": false, "3.0": false}
	for v, want := range tests {
		got, err := gunicorn.Notifies(v)
		require.NoError(t, err, v)
		assert.Equal(t, want, got, v)
	}
	for _, bad := range []string{"", "latest", "v20.1", ".1"} {
		_, err := gunicorn.Notifies(bad)
		assert.ErrorContains(t, err, "not a version number", bad)
	}
	quiet := Server{Name: "quiet"}
	got, err := quiet.Notifies("99.0")
	require.NoError(t, err)
	assert.False(t, got, "a server with no NotifySince never notifies")
}

func TestGunicornReadArgs(t *testing.T) {
	tests := []struct {
		args     []string
		app      string
		graceful time.Duration
		binds    []string
	}{
		{nil, "", 30 * time.Second, nil},
		{[]string{"project.wsgi"}, "project.wsgi", 30 * time.Second, nil},
		{[]string{"--graceful-timeout", "5", "-b", "a:1", "-bb:2", "--bind", "c:3", "--bind=d:4"}, "", 5 * time.Second, []string{"a:1", "b:2", "c:3", "d:4"}},
		{[]string{"--graceful-timeout=90", "m:app"}, "m:app", 90 * time.Second, nil},
		{[]string{"--", "--bind", "x:1"}, "--bind", 30 * time.Second, nil},
		{[]string{"--backlog", "64"}, "", 30 * time.Second, nil},
		// Bundled short options, and values that only look like options.
		{[]string{"-Rb:80", "-Rw4", "-b", "e:5"}, "", 30 * time.Second, []string{":80", "e:5"}},
		{[]string{"--access-logformat", "-bx:1", "-e", "-b"}, "", 30 * time.Second, nil},
	}
	for _, tt := range tests {
		a, err := gunicorn.ReadArgs(tt.args)
		require.NoError(t, err)
		assert.Equal(t, tt.app, a.App, "%q", tt.args)
		assert.Equal(t, tt.graceful, a.Graceful, "%q", tt.args)
		var binds []string
		for _, b := range a.Binds {
			binds = append(binds, b.Addr)
		}
		assert.Equal(t, tt.binds, binds, "%q", tt.args)
	}
	for args, msg := range map[string]string{
		"--graceful-timeout soon": `--graceful-timeout "soon" is not a number of seconds`,
		"--graceful-timeout 1.5":  "not a number of seconds",
		"-b":                      "gunicorn option -b needs a value",
		"--daemon x.wsgi":         "-D/--daemon",
		"-Db:80 x.wsgi":           "-D/--daemon",
	} {
		_, err := gunicorn.ReadArgs(strings.Fields(args))
		assert.ErrorContains(t, err, msg, args)
	}
}

func TestPrivileged(t *testing.T) {
	tests := map[string]bool{
		"0.0.0.0:80":         true,
		"127.0.0.1:8000":     false,
		"[::]:443":           true,
		"[::1]:8443":         false,
		"tcp://1.2.3.4:1024": false,
		"localhost":          false, // gunicorn's port 8000
		"unix:/run/x.sock":   false,
		"fd://3":             false,
		"host:http":          true, // cannot be told
		":0":                 true,
	}
	for bind, want := range tests {
		assert.Equal(t, want, GunicornBind(bind).Privileged(), bind)
	}
}

func TestGunicornVersionOutput(t *testing.T) {
	for out, want := range map[string]string{
		"gunicorn (version 20.1.0)\n":            "20.1.0",
		"warning\ngunicorn (version 23.0.0)\n":   "23.0.0",
		"gunicorn (version 21.2.0b1)":            "21.2.0b1",
		"gunicorn3 (version 20.1.0)\n":           "20.1.0",
		"one two (version 20.1.0)\n":             "",
		"gunicorn (version )":                    "",
		"gunicorn (version x1)":                  "",
		"gunicorn (version 20.1.0":               "",
		"gunicorn (version 20 1)":                "",
		"usage: gunicorn [OPTIONS] [APP_MODULE]": "",
	} {
		assert.Equal(t, want, gunicornVersion([]byte(out)), "%q", out)
	}
}

// The probe runs the program with the environment and directory it is
// given, and its errors never show the output.
func TestVersionProbe(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755))
		return path
	}
	work := t.TempDir()
	ok := script("ok", `[ "$PWD" = "`+work+`" ] && [ "$1" = --version ] && echo "gunicorn (version $V)"`+"\n")
	v, err := gunicorn.Version(Probe{Program: ok, Env: []string{"V=20.1.0"}, Dir: work})
	require.NoError(t, err)
	assert.Equal(t, "20.1.0", v)

	tests := []struct {
		name, body string
		msg        string
	}{
		{"fails", "echo secret; exit 3\n", "--version: exit status 3"},
		{"silent", "echo secret\n", "--version: no version in its output"},
		{"hangs", "echo secret; exec sleep 10\n", "--version: no answer within 100ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := script(tt.name, tt.body)
			_, err := gunicorn.Version(Probe{Program: path, Env: []string{}, Timeout: 100 * time.Millisecond})
			require.Error(t, err)
			assert.Equal(t, path+" "+tt.msg, err.Error())
		})
	}
	_, err = gunicorn.Version(Probe{Program: filepath.Join(dir, "missing")})
	assert.ErrorContains(t, err, "no such file")
}

func TestDjangoApp(t *testing.T) {
	assert.Equal(t, "wsgi.py", gunicorn.AppFile())
	assert.Equal(t, "project.wsgi", gunicorn.App("project"))
}

// Which command lines lose the requests on connections accepted and not
// read at a stop: uvicorn's, alone or as gunicorn's worker class
// (integration/TestASGIStopClosesUnread).
func TestClosesUnread(t *testing.T) {
	for _, tc := range []struct {
		argv string
		want bool
	}{
		{"uvicorn --fd 3 api:app", true},
		{"gunicorn -k uvicorn.workers.UvicornWorker api:app", true},
		{"gunicorn --worker-class=uvicorn.workers.UvicornH11Worker api:app", true},
		{"gunicorn project.wsgi", false},
		{"gunicorn -k gthread project.wsgi", false},
		{"hypercorn api:app", false},
	} {
		t.Run(tc.argv, func(t *testing.T) {
			argv := strings.Fields(tc.argv)
			s := Lookup(argv[0])
			require.NotNil(t, s)
			a, err := s.ReadArgs(argv[1:])
			require.NoError(t, err)
			assert.Equal(t, tc.want, s.ClosesUnread(a))
		})
	}
}
