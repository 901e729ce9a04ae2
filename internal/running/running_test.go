package running

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/launcher"
)

// busctlReply is a reply busctl --json=short printed, recorded in the booted
// suite (testdata/busctl/README).
func busctlReply(t *testing.T, name string) value {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "busctl", name+".json"))
	require.NoError(t, err)
	var v value
	require.NoError(t, json.Unmarshal(data, &v))
	return v
}

func busctlProps(t *testing.T, name string) props {
	t.Helper()
	p, err := allProps(busctlReply(t, name))
	require.NoError(t, err)
	return p
}

// What systemd 252 gives for bus@fix.service (integration/e2e/busctl.sh),
// checked against what systemctl show printed at the same moment.
func TestFromProps(t *testing.T) {
	s, err := fromProps("bus@fix.service", busctlProps(t, "unit"), busctlProps(t, "service"))
	require.NoError(t, err)
	assert.Equal(t, "loaded", s.LoadState)
	assert.Equal(t, "active", s.ActiveState)
	assert.Equal(t, "running", s.SubState)
	assert.False(t, s.NeedDaemonReload)
	assert.Equal(t, "05347d6e47054bfeb7f31194246f0868", s.InvocationID) // InvocationID=
	assert.Equal(t, []string{"/etc/systemd/system/bus@.service", "/etc/systemd/system/service.d/60-e2e.conf"}, s.UnitFiles())
	assert.Empty(t, s.Sockets())
	assert.Equal(t, 2572, s.MainPID)
	// ExecMainStartTimestamp=Mon 2026-12-07 22:21:18 UTC
	assert.Equal(t, "2026-12-07 22:21:18.102666", s.Started.UTC().Format("2006-01-02 15:04:05.000000"))
	assert.Equal(t, 90*time.Second, s.TimeoutStop) // TimeoutStopUSec=1min 30s, systemd's default
	// %i expanded; the $ and the backquote kept, the \n of the unit a newline.
	assert.Equal(t, []Command{{"/bin/sh", []string{"/bin/sh", "-c", "exec sleep infinity", "/srv/fix"}}}, s.ExecStart)
	assert.Equal(t, []Command{{"/bin/kill", []string{"/bin/kill", "-s", "HUP", "$MAINPID"}}}, s.ExecReload)
	assert.True(t, s.ReloadSendsHUP())
	assert.Equal(t, []string{"PRICE=costs $5", "TICK=a`date`b", "SPACE=a b", "NL=one\ntwo", "APP=/srv/fix", "PLAIN=1"}, s.Environment)
	assert.Equal(t, []EnvFile{{"/etc/default/bus", false}, {"/etc/default/bus-missing", true}}, s.EnvironmentFiles)
	assert.Equal(t, []string{"LANG"}, s.UnsetEnvironment)
	assert.Equal(t, []string{"container"}, s.PassEnvironment)
	assert.Equal(t, map[string]string{"/run/credentials/bus@fix.service/env": "/etc/default/bus"}, s.Credentials)
	assert.Empty(t, s.User)

	st, err := stateFrom(busctlProps(t, "unit"), busctlProps(t, "service"))
	require.NoError(t, err)
	assert.Equal(t, State{ActiveState: "active", SubState: "running", Result: "success",
		MainPID: 2572, InvocationID: "05347d6e47054bfeb7f31194246f0868"}, st)
}

// A property whose signature is not the one systemd gives is an error, not
// a zero value.
func TestFromPropsSignature(t *testing.T) {
	svc := busctlProps(t, "service")
	svc["ExecReload"] = value{Type: "as", Data: json.RawMessage(`["/bin/kill","-HUP","$MAINPID"]`)}
	_, err := fromProps("bus@fix.service", busctlProps(t, "unit"), svc)
	assert.ErrorContains(t, err, "property ExecReload: a as where systemd gives a a(sasbttttuii)")

	_, err = allProps(busctlReply(t, "manager-environment"))
	assert.ErrorContains(t, err, "a as where systemd gives a a{sv}")
}

// The manager's environment, as set-environment left it: values with a
// space, a quote, a $ and backquotes, as they are.
func TestManagerEnvironment(t *testing.T) {
	var env []string
	require.NoError(t, busctlReply(t, "manager-environment").decode("as", &env))
	assert.Equal(t, []string{"LANG=C.UTF-8", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"BUS_NOTE=UTC here", "BUS_QUOTE=it's $x `y`", "TZ_NOTE=UTC here"}, env)
}

func TestObjectPathAndListen(t *testing.T) {
	var path []string
	require.NoError(t, busctlReply(t, "load-unit").decode("o", &path))
	assert.Equal(t, []string{"/org/freedesktop/systemd1/unit/bus_40fix_2eservice"}, path)
	require.NoError(t, busctlReply(t, "not-found").decode("o", &path))
	assert.Equal(t, []string{"/org/freedesktop/systemd1/unit/no_2dsuch_2eservice"}, path)

	addrs, err := listens(busctlReply(t, "listen"))
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.1:8098"}, addrs)
}

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

// A unit's dependencies as systemd 252 gives them, for a service that wants
// and triggers nothing (the recorded bus@fix.service); a wrong type is an error.
func TestDepsFrom(t *testing.T) {
	d, err := depsFrom(busctlProps(t, "unit"))
	require.NoError(t, err)
	assert.Equal(t, "loaded", d.LoadState)
	assert.Empty(t, d.Wants)
	assert.Empty(t, d.ConsistsOf)
	assert.Empty(t, d.Triggers)
	_, err = depsFrom(props{"LoadState": {Type: "s", Data: json.RawMessage(`"loaded"`)}, "Wants": {Type: "s", Data: json.RawMessage(`"a.service"`)}})
	assert.Error(t, err)
}
