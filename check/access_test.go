package check

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/internal/testenv"
)

// throwawayUser creates a system user with its own group, removed when the
// test ends: a user that nothing on the machine grants access to.
func throwawayUser(t *testing.T) *account {
	t.Helper()
	testenv.Root(t)
	useradd := testenv.LookPath(t, "useradd")
	name := fmt.Sprintf("runapp-t%d", time.Now().UnixNano()%1e9)
	out, err := exec.Command(useradd, "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", name).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	a, err := lookupAccount(name)
	require.NoError(t, err)
	return a
}

func TestServiceUserAccess(t *testing.T) {
	u := throwawayUser(t)
	asUser := func(o *Options, _ string) { o.User = u.name }
	giveEnv := func(t *testing.T, dir string) {
		require.NoError(t, os.Chown(filepath.Join(dir, ".env"), 0, int(u.gid)))
	}
	tests := []checkCase{
		{
			name:  "a working app",
			files: good,
			setup: giveEnv,
			opts:  asUser,
		},
		{
			name:  "env file not readable by the user",
			files: good,
			opts:  asUser,
			want: []want{{Error, "envfile.access", ".env", []string{
				u.name + " cannot read .env: $APP/.env is -rw-r----- root:nogroup",
				"chgrp " + u.name + " $APP/.env && chmod g+r $APP/.env",
			}}},
		},
		{
			name:  "env file readable by everyone, the user reads it so",
			files: good,
			setup: chmod(".env", 0o644),
			opts:  asUser,
			want: []want{{Warning, "envfile.mode", ".env", []string{
				"readable by everyone", "chgrp " + u.name + " .env && chmod 0640 .env",
			}}},
		},
		{
			name:  "a private app directory, reported once",
			files: good,
			setup: func(t *testing.T, dir string) { giveEnv(t, dir); chmod(".", 0o700)(t, dir) },
			opts:  asUser,
			want: []want{{Error, "appdir.access", "$APP", []string{
				u.name + " cannot enter $APP (systemd says 200/CHDIR): $APP is drwx------ root:root",
				"chgrp " + u.name + " $APP && chmod g+x $APP",
			}}},
		},
		{
			name:  "a server the user may not run",
			files: good,
			setup: func(t *testing.T, dir string) { giveEnv(t, dir); chmod(".venv/bin/gunicorn", 0o744)(t, dir) },
			opts:  asUser,
			want: []want{{Error, "server.access", "$APP/.venv/bin/gunicorn", []string{
				u.name + " cannot run $APP/.venv/bin/gunicorn: $APP/.venv/bin/gunicorn is -rwxr--r-- root:root",
			}}},
		},
		{
			name:  "a virtualenv the user cannot reach runs as root, reported once",
			files: good,
			setup: func(t *testing.T, dir string) { giveEnv(t, dir); chmod(".venv", 0o700)(t, dir) },
			opts:  asUser,
			want: []want{{Error, "server.access", "$APP/.venv/bin/gunicorn", []string{
				u.name + " cannot run $APP/.venv/bin/gunicorn: $APP/.venv is drwx------ root:root",
			}}, {Error, "venv.python", "$APP/.venv/bin/python", []string{"does not run as " + u.name}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}

// setACL gives uid search permission on dir through a POSIX ACL, written as
// the kernel's xattr (what setfacl -m u:UID:x writes).
func setACL(t *testing.T, dir string, uid uint32) {
	t.Helper()
	const undefined = 0xffffffff
	entries := []struct {
		tag, perm uint16
		id        uint32
	}{
		{0x01, 7, undefined}, // ACL_USER_OBJ rwx
		{0x02, 1, uid},       // ACL_USER uid --x
		{0x04, 0, undefined}, // ACL_GROUP_OBJ ---
		{0x10, 1, undefined}, // ACL_MASK --x
		{0x20, 0, undefined}, // ACL_OTHER ---
	}
	buf := binary.LittleEndian.AppendUint32(nil, 2) // POSIX_ACL_XATTR_VERSION
	for _, e := range entries {
		buf = binary.LittleEndian.AppendUint16(buf, e.tag)
		buf = binary.LittleEndian.AppendUint16(buf, e.perm)
		buf = binary.LittleEndian.AppendUint32(buf, e.id)
	}
	if err := unix.Setxattr(dir, "system.posix_acl_access", buf, 0); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) {
			testenv.Skip(t, "the file system of "+dir+" has no POSIX ACLs")
		}
		require.NoError(t, err)
	}
}

func TestACLIsNamedNotEvaluated(t *testing.T) {
	u := throwawayUser(t)
	runCase(t, checkCase{
		files: good,
		setup: func(t *testing.T, dir string) {
			require.NoError(t, os.Chown(filepath.Join(dir, ".env"), 0, int(u.gid)))
			require.NoError(t, os.Chmod(dir, 0o700))
			setACL(t, dir, u.uid)
		},
		opts: func(o *Options, _ string) { o.User = u.name },
		want: []want{{Warning, "appdir.access", "$APP", []string{
			"$APP is drwx--x--- root:root",
			"(it has an ACL, which check does not evaluate: see getfacl $APP)",
		}}},
	})
}
