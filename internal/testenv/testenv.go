// Package testenv lets tests that need a real program (bash, gunicorn,
// systemd) skip with a reason on a machine without it, and fail instead of
// skipping when RUNAPP_NO_SKIP is set, as CI does.
package testenv

import (
	"encoding/json"
	"os"
	"os/exec"
	"testing"
)

// Skip skips the test with reason, or fails it under RUNAPP_NO_SKIP=1.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("RUNAPP_NO_SKIP") != "" {
		t.Fatalf("cannot run, and RUNAPP_NO_SKIP is set: %s", reason)
	}
	t.Skip(reason)
}

// LookPath returns the path of program, or skips the test when it is missing.
func LookPath(t testing.TB, program string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err != nil {
		Skip(t, program+" is not installed: "+err.Error())
	}
	return p
}

// Root skips the test unless it runs as root.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root")
	}
}

// DebianPython is Debian's python3, which sees python3-gunicorn and
// python3-django (a python3 earlier on PATH may not).
const DebianPython = "/usr/bin/python3"

// PythonJSON runs DebianPython with script and args, and decodes the JSON it
// prints into out. It skips the test when that Python is missing.
func PythonJSON(t testing.TB, out any, script string, args ...string) {
	t.Helper()
	if _, err := os.Stat(DebianPython); err != nil {
		Skip(t, "needs Debian's "+DebianPython)
	}
	cmd := exec.Command(DebianPython, append([]string{"-c", script}, args...)...)
	cmd.Stderr = os.Stderr
	data, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", DebianPython, err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s printed no JSON (%v): %s", DebianPython, err, data)
	}
}
