package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/unitgen"
)

// checkedApp makes an app that runapp check passes: a real virtualenv (check
// runs its python), a WSGI module, a private .env.
func checkedApp(t *testing.T, dotenv string, mode os.FileMode) string {
	t.Helper()
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		testenv.Skip(t, "needs Debian's "+python+" (python3-venv)")
	}
	dir := t.TempDir()
	venv := filepath.Join(dir, ".venv")
	out, err := exec.Command(python, "-m", "venv", "--system-site-packages", "--without-pip", venv).CombinedOutput()
	require.NoError(t, err, "%s", out)
	gunicorn := "#!" + venv + "/bin/python3\nimport sys\nfrom gunicorn.app.wsgiapp import run\nif __name__ == '__main__':\n    sys.exit(run())\n"
	require.NoError(t, os.WriteFile(filepath.Join(venv, "bin", "gunicorn"), []byte(gunicorn), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "src", "project"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "src", "project", "wsgi.py"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte(dotenv), mode))
	require.NoError(t, os.Chmod(filepath.Join(dir, ".env"), mode))
	return dir
}

func TestCheckCommand(t *testing.T) {
	clean := checkedApp(t, "SECRET_KEY='"+secret+"'\n", 0o600)
	readable := checkedApp(t, "SECRET_KEY='"+secret+"'\n", 0o644)
	refused := checkedApp(t, "SECRET_KEY="+secret+"$x\n", 0o600)
	broken := checkedApp(t, "SECRET_KEY='"+secret+"'\nGUNICORN_CMD_ARGS=--daemon\n", 0o660)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"clean", []string{"check", "--app-dir", clean}, 0, []string{"0 errors, 0 warnings\n"}, ""},
		{"warnings only", []string{"check", "--app-dir", readable}, 0, []string{
			"warning  .env  env file is readable by everyone (mode 0644), and it holds secrets; chmod 0640 .env\n",
			"0 errors, 1 warning\n",
		}, ""},
		{"refused line", []string{"check", "--app-dir", refused}, 78, []string{
			"error    .env:1  SECRET_KEY: \"$\" outside single quotes",
			"1 error, 0 warnings\n",
		}, "runapp: check found 1 error(s)\n"},
		{"errors", []string{"check", "--app-dir", broken}, 78, []string{
			"error    .env                        env file is writable by its group (mode 0660)",
			"error    GUNICORN_CMD_ARGS (.env:2)  gunicorn is told to daemonize",
			"2 errors, 0 warnings\n",
		}, "runapp: check found 2 error(s)\n"},
		{"server args", []string{"check", "--app-dir", clean, "--", "--daemon", "project.wsgi"}, 78, []string{"error    SERVER-ARGS"}, "runapp: check found 1 error(s)\n"},
		{"help", []string{"check", "-h"}, 0, []string{"usage: runapp check", "-unit FILE", "JSON output", `"where":`}, ""},
		{"bad format", []string{"check", "--format", "yaml"}, 2, nil, "runapp: check: --format must be text or json, not \"yaml\"\n"},
		{"stray argument", []string{"check", "--app-dir", clean, "project.wsgi"}, 2, nil, "runapp: unexpected argument \"project.wsgi\"; server arguments go after --, e.g. runapp check -- project.wsgi\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runapp(t, nil, tt.args...)
			assert.Equal(t, tt.code, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			for _, s := range tt.stdout {
				assert.Contains(t, r.stdout, s)
			}
			assert.Equal(t, tt.stderr, r.stderr)
			assert.NotContains(t, r.stdout+r.stderr, secret)
		})
	}
}

// TestCheckJSONShape pins the documented shape of --format json.
func TestCheckJSONShape(t *testing.T) {
	dir := checkedApp(t, "SECRET_KEY='"+secret+"'\nA=1\nA=2\n", 0o664)
	r := runapp(t, nil, "check", "--format", "json", "--app-dir", dir)
	require.Equal(t, 78, r.code, r.stderr)
	assert.NotContains(t, r.stdout, secret)

	var doc map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc), r.stdout)
	var keys []string
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	assert.Equal(t, []string{"errors", "problems", "warnings"}, keys)

	var problems []map[string]string
	require.NoError(t, json.Unmarshal(doc["problems"], &problems))
	require.Len(t, problems, 3)
	assert.Equal(t, map[string]string{
		"severity": "error",
		"check":    "envfile.mode",
		"where":    ".env",
		"message":  "env file is writable by its group (mode 0664): whoever can write it sets the service's environment and so runs code as the service",
		"fix":      "chmod 0640 .env",
	}, problems[0])
	for i, want := range [][3]string{{"error", "envfile.mode", ".env"}, {"warning", "envfile.mode", ".env"}, {"warning", "envfile.duplicate", ".env:3"}} {
		assert.Equal(t, want, [3]string{problems[i]["severity"], problems[i]["check"], problems[i]["where"]})
		assert.Len(t, problems[i], 5, "every problem has the same five fields")
	}
	assert.JSONEq(t, "1", string(doc["errors"]))
	assert.JSONEq(t, "2", string(doc["warnings"]))
}

// TestCheckTakesTheUnitsConfiguration: given only a unit whose ExecStart=
// runs runapp, check checks what the unit will run, from anywhere.
func TestCheckTakesTheUnitsConfiguration(t *testing.T) {
	testenv.Root(t)
	dir := checkedApp(t, "SECRET_KEY='"+secret+"'\n", 0o600) // root's: passed as a credential
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755))
	require.NoError(t, os.Chmod(dir, 0o755))
	self, err := os.Executable()
	require.NoError(t, err)
	service, err := unitgen.Service(unitgen.Options{
		Config:        launcher.Config{AppDir: dir, Args: []string{"--workers", "2", "project.wsgi"}},
		Runapp:        self, // runapp.test: ExecStart= runs runapp
		Name:          "app",
		User:          "nobody",
		Group:         "nogroup",
		Credential:    true,
		ServerVersion: "20.1.0",
	})
	require.NoError(t, err)
	unitPath := filepath.Join(t.TempDir(), "app.service")
	require.NoError(t, os.WriteFile(unitPath, []byte(service), 0o644))

	r := runapp(t, nil, "check", "--unit", unitPath)
	assert.Equal(t, 0, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	assert.Equal(t, "0 errors, 0 warnings\n", r.stdout)
	assert.Equal(t, "runapp: check: checking the configuration ExecStart= of "+unitPath+" gives runapp\n", r.stderr)

	// With a flag of its own, check checks that, and the unit drifts from it.
	r = runapp(t, nil, "check", "--unit", unitPath, "--app-dir", dir)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "differs from what runapp unit writes for this configuration")
}

// A runapp built without its entry point (go build, not make build) says
// so: the server would not get the signal state runapp was started with.
func TestCheckWarnsWithoutSignalEntry(t *testing.T) {
	dir := checkedApp(t, "SECRET_KEY='"+secret+"'\n", 0o600)
	r := runapp(t, []string{"RUNAPP_TEST_UNCAPTURED=1"}, "check", "--app-dir", dir, "--format", "json")
	require.Equal(t, 0, r.code, r.stderr)
	var report struct {
		Problems []map[string]string
		Warnings int
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &report), r.stdout)
	require.Len(t, report.Problems, 1, r.stdout)
	p := report.Problems[0]
	assert.Equal(t, "warning", p["severity"])
	assert.Equal(t, "runapp.entry", p["check"])
	assert.Equal(t, os.Args[0], p["where"])
	assert.Contains(t, p["message"], "built without its entry point")
	assert.Equal(t, "build it with make build", p["fix"])
}
