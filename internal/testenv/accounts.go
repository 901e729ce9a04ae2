package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

var accounts atomic.Int32

// accountName is a user or group name no other test, here or in another
// test process, uses.
func accountName(kind string) string {
	return fmt.Sprintf("runapp-%s%d-%d", kind, os.Getpid()%100000, accounts.Add(1))
}

// Group creates a system group, removed when the test ends, and returns
// its name. It skips the test unless it runs as root with groupadd.
func Group(t testing.TB) string {
	t.Helper()
	Root(t)
	groupadd := LookPath(t, "groupadd")
	name := accountName("g")
	out, err := exec.Command(groupadd, "--system", name).CombinedOutput()
	if err != nil {
		t.Fatalf("groupadd %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("groupdel", name).CombinedOutput(); err != nil {
			t.Errorf("groupdel %s: %v: %s", name, err, out)
		}
	})
	return name
}

// User creates a system user with a group of its own, a member of groups
// besides, removed when the test ends: a user that nothing on the machine
// grants access to. It returns the user's name, which is also its
// group's. It skips the test unless it runs as root with useradd.
func User(t testing.TB, groups ...string) string {
	t.Helper()
	Root(t)
	useradd := LookPath(t, "useradd")
	name := accountName("u")
	args := []string{"--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin"}
	if len(groups) > 0 {
		args = append(args, "--groups", strings.Join(groups, ","))
	}
	out, err := exec.Command(useradd, append(args, name)...).CombinedOutput()
	if err != nil {
		t.Fatalf("useradd %s: %v: %s", name, err, out)
	}
	// Registered after the groups' cleanups, so it runs before them: a
	// group cannot be removed while it is a user's primary group, and the
	// user's own group goes with the user.
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	return name
}
