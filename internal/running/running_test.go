package running

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/launcher"
)

// Inherited models what systemd gives a service, in systemd's order.
func TestInherited(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "default")
	require.NoError(t, os.WriteFile(file, []byte("EXTRA='from the file'\nPLAIN=2\n"), 0o600))
	s := &Service{
		Manager:          []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "TZ_NOTE=UTC here"},
		Environment:      []string{"PRICE=costs $5", "TICK=a`b`", "PLAIN=1", "X=a b"},
		EnvironmentFiles: []EnvFile{{file, false}, {filepath.Join(dir, "missing"), true}},
		UnsetEnvironment: []string{"LANG", "X=other"},
		PassEnvironment:  []string{"container"},
		// What runapp and the env files set is not inherited; what systemd
		// sets and passes is, with the running value.
		Environ: []string{"PATH=/srv/v/bin:/usr/bin:/bin", "VIRTUAL_ENV=/srv/v", "HOME=/srv/shop", "INVOCATION_ID=1", "SECRET=x", "container=systemd-nspawn"},
	}
	env, err := s.Inherited()
	require.NoError(t, err)
	assert.Equal(t, []string{"PATH=/usr/bin:/bin", "TZ_NOTE=UTC here", "HOME=/srv/shop", "INVOCATION_ID=1",
		"container=systemd-nspawn", "PRICE=costs $5", "TICK=a`b`", "PLAIN=2", "X=a b", "EXTRA=from the file"}, env)

	// A start fails on a missing EnvironmentFile= without "-".
	s.EnvironmentFiles = []EnvFile{{filepath.Join(dir, "missing"), false}}
	_, err = s.Inherited()
	assert.ErrorContains(t, err, "EnvironmentFile="+filepath.Join(dir, "missing"))
}

func TestReloadSendsHUP(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		hup  bool
	}{
		{[]string{"/bin/kill", "-HUP", "$MAINPID"}, true},
		{[]string{"/bin/kill", "-s", "HUP", "$MAINPID"}, true},
		{[]string{"/bin/kill", "-SIGHUP", "$MAINPID"}, true},
		{[]string{"/usr/bin/kill", "-s", "SIGHUP", "${MAINPID}"}, true},
		{[]string{"/bin/kill", "--signal", "hup", "$MAINPID"}, true},
		{[]string{"/bin/kill", "--signal=HUP", "$MAINPID"}, true},
		{[]string{"/bin/kill", "-1", "$MAINPID"}, true},
		{[]string{"/bin/kill", "-TERM", "$MAINPID"}, false},
		{[]string{"/bin/kill", "-s", "USR2", "$MAINPID"}, false},
		{[]string{"/bin/kill", "-HUP", "1234"}, false},
		{[]string{"/bin/sh", "-c", "kill -HUP $MAINPID"}, false},
	} {
		s := &Service{ExecReload: []Command{{Path: tc.argv[0], Argv: tc.argv}}}
		assert.Equal(t, tc.hup, s.ReloadSendsHUP(), "%q", tc.argv)
	}
	assert.False(t, (&Service{}).ReloadSendsHUP())
}

func TestEnvChanges(t *testing.T) {
	s := &Service{Environ: []string{"A=1", "B=2", "GONE=x", "INVOCATION_ID=old", "LISTEN_PID=7"}}
	plan := &launcher.Plan{Env: []launcher.Var{
		{Name: "A", Value: "1", Origin: launcher.FromFile, File: ".env", Line: 1},
		{Name: "B", Value: "3", Origin: launcher.FromFile, File: ".env", Line: 2},
		{Name: "NEW", Value: "n", Origin: launcher.ByRunapp},
		{Name: "INVOCATION_ID", Value: "new"},
	}}
	assert.Equal(t, []Change{
		{"B", "changed", ".env:2"}, {"GONE", "removed", ""}, {"NEW", "added", "runapp"},
	}, s.EnvChanges(plan))
}

func TestSameCommand(t *testing.T) {
	plan := &launcher.Plan{Program: "/v/bin/gunicorn", Argv: []string{"gunicorn", "-w", "2", "app.wsgi"}}
	for _, tc := range []struct {
		cmdline []string
		same    bool
		err     bool
	}{
		{[]string{"/v/bin/python3", "/v/bin/gunicorn", "-w", "2", "app.wsgi"}, true, false},
		{[]string{"gunicorn", "-w", "2", "app.wsgi"}, true, false},
		{[]string{"/v/bin/python3", "/v/bin/gunicorn", "-w", "3", "app.wsgi"}, false, false},
		{[]string{"/v/bin/python3", "/v/bin/gunicorn", "app.wsgi"}, false, false},
		{[]string{"gunicorn: master [app.wsgi]"}, false, true},
	} {
		same, err := (&Service{Cmdline: tc.cmdline}).SameCommand(plan)
		assert.Equal(t, tc.same, same, "%q", tc.cmdline)
		assert.Equal(t, tc.err, err != nil, "%q: %v", tc.cmdline, err)
	}
}
