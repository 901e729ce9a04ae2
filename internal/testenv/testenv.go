// Package testenv lets tests that need a real program (bash, gunicorn,
// systemd) skip with a reason on a machine without it, and fail instead of
// skipping when RUNAPP_NO_SKIP is set, as CI does.
package testenv

import (
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
