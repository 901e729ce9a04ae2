package check

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/running"
)

func TestReloadWarnings(t *testing.T) {
	noReload := edit("ExecReload=/bin/kill -HUP $MAINPID\n", "")
	tests := []checkCase{
		{
			name:  "preload_app on the command line",
			files: good,
			opts:  serverArgs("--preload", "project.wsgi"),
			unit:  asGenerated,
			want:  []want{{Warning, "gunicorn.preload_reload", "SERVER-ARGS", []string{"$UNIT@ExecReload=", "with the old code", "restart"}}},
		},
		{
			name:  "preload_app in gunicorn.conf.py",
			files: with("gunicorn.conf.py", "preload_app = True\nwsgi_app = 'project.wsgi'\n"),
			unit:  asGenerated,
			want:  []want{{Warning, "gunicorn.preload_reload", "gunicorn.conf.py:1", nil}},
		},
		{
			name:  "preload_app off",
			files: with("gunicorn.conf.py", "preload_app = False\nwsgi_app = 'project.wsgi'\n"),
			unit:  asGenerated,
		},
		{
			name:  "preload_app without a unit",
			files: good,
			opts:  serverArgs("--preload", "project.wsgi"),
		},
		{
			name:  "preload_app, no ExecReload=",
			files: good,
			opts:  serverArgs("--preload", "project.wsgi"),
			unit:  noReload,
			want:  []want{{Warning, "unit.drift", "$UNIT", []string{"no ExecReload="}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

// A running server whose environment differs from what the env files give
// now: a warning that names the variable, not its value.
func TestEnvPending(t *testing.T) {
	proc := t.TempDir()
	defer func(r string) { running.ProcRoot = r }(running.ProcRoot)
	running.ProcRoot = proc
	require.NoError(t, os.MkdirAll(filepath.Join(proc, "42"), 0o755))
	defer func(f func(context.Context) (running.Systemd, error)) { running.Connect = f }(running.Connect)
	var fragment string // the installed unit, as systemd names it
	running.Connect = func(context.Context) (running.Systemd, error) {
		return loader(func() *running.Service {
			return &running.Service{LoadState: "loaded", ActiveState: "active", MainPID: 42, FragmentPath: fragment,
				Manager: []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}}
		}), nil
	}
	// started writes the main process's environment: the plan's, with the
	// given SECRET_KEY.
	started := func(secretKey string) func(*Options, string) {
		return func(o *Options, dir string) {
			o.Config.Args = []string{"project.wsgi"}
			fragment = filepath.Join(o.UnitPath[1], "web.service")
			env := []string{"PATH=" + dir + "/.venv/bin:/usr/bin:/bin", "LANG=C.UTF-8", "SECRET_KEY=" + secretKey,
				"VIRTUAL_ENV=" + dir + "/.venv", "PYTHONPATH=" + dir + "/src", "INVOCATION_ID=1"}
			require.NoError(t, os.WriteFile(filepath.Join(proc, "42", "environ"), []byte(strings.Join(env, "\x00")+"\x00"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(proc, "42", "cmdline"), []byte("python3\x00gunicorn\x00project.wsgi\x00"), 0o644))
		}
	}
	for _, tc := range []checkCase{
		{name: "same environment", files: good, installed: true, unit: asGenerated, opts: started(secret)},
		{
			name: "changed", files: good, installed: true, unit: asGenerated, opts: started("old" + secret),
			want: []want{{Warning, "unit.env_pending", "$UNIT", []string{"SECRET_KEY changed (.env:1)", "systemctl reload keeps the old one", "runapp deploy"}}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

// loader stands in for systemd: Load reads the service it returns, and its
// main process from running.ProcRoot.
type loader func() *running.Service

func (l loader) Load(context.Context, string) (*running.Service, error) {
	s := l()
	s.Environ = proc(s.MainPID, "environ")
	s.Cmdline = proc(s.MainPID, "cmdline")
	return s, nil
}
func (loader) State(context.Context, string) (running.State, error) { return running.State{}, nil }
func (loader) Listen(context.Context, string) ([]string, error)     { return nil, nil }
func (loader) Deps(context.Context, string) (running.Deps, error)   { return running.Deps{}, nil }
func (loader) Close()                                               {}

func proc(pid int, file string) []string {
	data, _ := os.ReadFile(filepath.Join(running.ProcRoot, strconv.Itoa(pid), file))
	return strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
}
