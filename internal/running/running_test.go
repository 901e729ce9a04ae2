package running

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/runapp/runapp/launcher"
)

func TestSplitEnvironment(t *testing.T) {
	assert.Equal(t, []string{"A=1", "B=two words", `C=q"x`}, splitEnvironment(`A=1 "B=two words" "C=q\"x"`))
	assert.Nil(t, splitEnvironment(""))
}

func TestParseShow(t *testing.T) {
	m := parseShow([]byte("MainPID=42\nExecStart={ path=/x ; argv[]=/x a=b }\nEmpty=\n"))
	assert.Equal(t, map[string]string{"MainPID": "42", "ExecStart": "{ path=/x ; argv[]=/x a=b }", "Empty": ""}, m)
}

func TestInherited(t *testing.T) {
	s := &Service{
		Manager: []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"},
		Props:   map[string]string{"Environment": `LANG=de_DE.UTF-8 "X=a b"`},
		// What runapp and the env files set is not inherited.
		Environ: []string{"PATH=/srv/v/bin:/usr/bin:/bin", "VIRTUAL_ENV=/srv/v", "HOME=/srv/shop", "INVOCATION_ID=1", "SECRET=x"},
	}
	assert.Equal(t, []string{"PATH=/usr/bin:/bin", "LANG=de_DE.UTF-8", "X=a b", "HOME=/srv/shop", "INVOCATION_ID=1"}, s.Inherited())
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
