package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// LockDir is where deploy's locks live: /run/lock is a tmpfs, so a lock
// file left by a crash is gone at the next boot, and the lock itself is
// the kernel's (flock), released when its holder dies however it dies.
var LockDir = "/run/lock"

// lock takes the lock of unit's deploys, so that two deploys of one unit
// never interleave: one's check with the other's restart, two releases at
// once. When another deploy holds it, lock says so on say and waits for it
// until ctx is done. The lock is held until release is called or the
// process exits.
func lock(ctx context.Context, unit string, say func(string, ...any)) (release func(), err error) {
	path := filepath.Join(LockDir, "runapp-deploy-"+strings.TrimSuffix(unit, ".service")+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot take the deploy lock: %w", err)
	}
	waited := false
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("cannot take the deploy lock %s: %w", path, err)
		}
		if !waited {
			waited = true
			holder, _ := os.ReadFile(path)
			who := "another deploy"
			if pid := strings.TrimSpace(string(holder)); pid != "" {
				who += " (pid " + pid + ")"
			}
			say("%s of %s is running; waiting for it to finish (%s holds it)", who, unit, path)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("another deploy of %s held %s for the whole --timeout; it may still be running: wait for it, then deploy again", unit, path)
		case <-time.After(100 * time.Millisecond):
		}
	}
	// Who holds it, for the message of the next deploy that waits.
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { f.Close() }, nil
}
