package check

import (
	"encoding/binary"
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/internal/account"
	"github.com/runapp/runapp/internal/testenv"
)

// throwawayUser creates a system user with its own group, removed when the
// test ends: a user that nothing on the machine grants access to.
func throwawayUser(t *testing.T) *account.Account {
	t.Helper()
	a, err := account.Lookup(testenv.User(t), "", nil)
	require.NoError(t, err)
	return a
}

func TestServiceUserAccess(t *testing.T) {
	u := throwawayUser(t)
	asUser := func(o *Options, _ string) { o.User = u.Name }
	giveEnv := func(t *testing.T, dir string) {
		require.NoError(t, os.Chown(filepath.Join(dir, ".env"), 0, int(u.GID)))
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
				u.Name + " cannot read .env: $APP/.env is -rw-r----- root:nogroup",
				"chgrp " + u.Name + " $APP/.env && chmod g+r $APP/.env",
			}}},
		},
		{
			name:  "env file readable by everyone, the user reads it so",
			files: good,
			setup: chmod(".env", 0o644),
			opts:  asUser,
			want: []want{{Warning, "envfile.mode", ".env", []string{
				"readable by everyone", "chgrp " + u.Name + " .env && chmod 0640 .env",
			}}},
		},
		{
			name:  "a private app directory, reported once",
			files: good,
			setup: func(t *testing.T, dir string) { giveEnv(t, dir); chmod(".", 0o700)(t, dir) },
			opts:  asUser,
			want: []want{{Error, "appdir.access", "$APP", []string{
				u.Name + " cannot enter $APP (systemd says 200/CHDIR): $APP is drwx------ root:root",
				"chgrp " + u.Name + " $APP && chmod g+x $APP",
			}}},
		},
		{
			name:  "a server the user may not run",
			files: good,
			setup: func(t *testing.T, dir string) { giveEnv(t, dir); chmod(".venv/bin/gunicorn", 0o744)(t, dir) },
			opts:  asUser,
			want: []want{{Error, "server.access", "$APP/.venv/bin/gunicorn", []string{
				u.Name + " cannot run $APP/.venv/bin/gunicorn: $APP/.venv/bin/gunicorn is -rwxr--r-- root:root",
			}}},
		},
		{
			name:  "a virtualenv the user cannot reach runs as root, reported once",
			files: good,
			setup: func(t *testing.T, dir string) { giveEnv(t, dir); chmod(".venv", 0o700)(t, dir) },
			opts:  asUser,
			want: []want{{Error, "server.access", "$APP/.venv/bin/gunicorn", []string{
				u.Name + " cannot run $APP/.venv/bin/gunicorn: $APP/.venv is drwx------ root:root",
			}}, {Error, "venv.python", "$APP/.venv/bin/python", []string{"does not run as " + u.Name}}},
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
			require.NoError(t, os.Chown(filepath.Join(dir, ".env"), 0, int(u.GID)))
			require.NoError(t, os.Chmod(dir, 0o700))
			setACL(t, dir, u.UID)
		},
		opts: func(o *Options, _ string) { o.User = u.Name },
		want: []want{{Warning, "appdir.access", "$APP", []string{
			"$APP is drwx--x--- root:root",
			"(it has an ACL, which check does not evaluate: see getfacl $APP)",
		}}},
	})
}

// TestServiceGroups: access is judged for the groups systemd gives the
// service: Group= instead of the user's primary group, and
// SupplementaryGroups= besides.
func TestServiceGroups(t *testing.T) {
	web := testenv.Group(t)
	name := testenv.User(t)
	envGroup := func(group string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			g, err := user.LookupGroup(group)
			require.NoError(t, err)
			gid, err := strconv.Atoi(g.Gid)
			require.NoError(t, err)
			require.NoError(t, os.Chown(filepath.Join(dir, ".env"), 0, gid))
		}
	}
	asUser := edit("User=nobody", "User="+name)
	tests := []checkCase{
		{
			name:  "Group= may read the env file",
			files: good,
			setup: envGroup(web),
			unit:  func(u string) string { return edit("Group=nogroup", "Group="+web)(asUser(u)) },
		},
		{
			name:  "SupplementaryGroups= may read the env file",
			files: good,
			setup: envGroup(web),
			unit: func(u string) string {
				return addService("SupplementaryGroups=nogroup", "SupplementaryGroups=", "SupplementaryGroups=daemon "+web)(edit("Group=nogroup\n", "")(asUser(u)))
			},
		},
		{
			name:  "an empty SupplementaryGroups= drops the groups before it",
			files: good,
			setup: envGroup(web),
			unit: func(u string) string {
				return addService("SupplementaryGroups="+web, "SupplementaryGroups=")(edit("Group=nogroup\n", "")(asUser(u)))
			},
			want: []want{{Error, "envfile.access", ".env", []string{
				name + " cannot read .env: $APP/.env is -rw-r----- root:" + web,
				"chgrp " + name + " $APP/.env && chmod g+r $APP/.env",
			}}},
		},
		{
			name:  "Group= replaces the user's own group",
			files: good,
			setup: envGroup(name),
			unit:  func(u string) string { return edit("Group=nogroup", "Group="+web)(asUser(u)) },
			want: []want{{Error, "envfile.access", ".env", []string{
				name + " cannot read .env: $APP/.env is -rw-r----- root:" + name,
				"chgrp " + web + " $APP/.env && chmod g+r $APP/.env",
			}}},
		},
		{
			name:  "a Group= that does not exist",
			files: good,
			unit:  func(u string) string { return edit("Group=nogroup", "Group=runapp-no-such-group")(asUser(u)) },
			want: []want{{Error, "user.unknown", "$UNIT@Group=", []string{
				"group runapp-no-such-group does not exist", "groupadd --system runapp-no-such-group",
			}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}
