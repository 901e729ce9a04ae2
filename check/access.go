package check

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/internal/account"
)

// perm is one of the rwx permission bits, as in the "other" triplet.
type perm uint32

const (
	permRead  perm = 4
	permWrite perm = 2
	permExec  perm = 1
)

func (p perm) letter() string {
	switch p {
	case permRead:
		return "r"
	case permWrite:
		return "w"
	}
	return "x"
}

// denial is why an account cannot reach a file.
type denial struct {
	path string // the file or directory in the way
	why  string // "/srv is drwx------ root:root"
	dir  bool   // path is a directory: on the way, or the one to enter
	acl  bool   // path has an ACL, which this check does not evaluate
}

// denied says why a cannot do want to path: every directory above it needs
// search permission, the file itself want. It follows the kernel's rules
// for the mode bits (owner, else group, else other; root passes except to
// run a file nobody may run). POSIX ACLs are not evaluated: when the path
// in the way has one, the denial says so. nil means a can.
func denied(a *account.Account, path string, want perm) *denial {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return &denial{path: path, why: err.Error()}
	}
	var dirs []string
	for d := filepath.Dir(real); ; d = filepath.Dir(d) {
		dirs = append(dirs, d)
		if d == "/" || d == "." {
			break
		}
	}
	slices.Reverse(dirs)
	for _, d := range dirs {
		if why := may(a, d, permExec); why != "" {
			return &denial{path: d, why: why, dir: true, acl: hasACL(d)}
		}
	}
	if why := may(a, real, want); why != "" {
		fi, err := os.Stat(real)
		return &denial{path: real, why: why, dir: err == nil && fi.IsDir(), acl: hasACL(real)}
	}
	return nil
}

// may returns "" when a may do want to path itself, else how path is set.
func may(a *account.Account, path string, want perm) string {
	fi, err := os.Stat(path)
	if err != nil {
		return err.Error()
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	mode := uint32(fi.Mode().Perm())
	allowed := false
	switch {
	case a.UID == 0:
		allowed = want != permExec || fi.IsDir() || mode&0o111 != 0
	case st.Uid == a.UID:
		allowed = perm(mode>>6)&want == want
	case a.In(st.Gid):
		allowed = perm(mode>>3)&want == want
	default:
		allowed = perm(mode)&want == want
	}
	if allowed {
		return ""
	}
	return fmt.Sprintf("%s is %s %s:%s", path, fi.Mode(), account.UserName(st.Uid), account.GroupName(st.Gid))
}

// message words a denial for a problem: what a cannot do (verb), why, and
// whether an ACL may change the answer.
func (d *denial) message(a *account.Account, verb, what string) string {
	msg := fmt.Sprintf("%s cannot %s %s: %s", a.Name, verb, what, d.why)
	if d.acl {
		msg += fmt.Sprintf(" (it has an ACL, which check does not evaluate: see getfacl %s)", d.path)
	}
	return msg
}

// fix says how to let a through: by the group the service runs with.
func (d *denial) fix(a *account.Account, want perm) string {
	if d.dir {
		return fmt.Sprintf("let %s search the directory, e.g. chgrp %s %s && chmod g+x %s", a.Name, a.Group, d.path, d.path)
	}
	return fmt.Sprintf("e.g. chgrp %s %s && chmod g+%s %s", a.Group, d.path, want.letter(), d.path)
}

type owner struct{ uid, gid uint32 }

// fileOwner returns the owner and group of a file from os.Stat.
func fileOwner(fi os.FileInfo) (owner, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return owner{}, false
	}
	return owner{st.Uid, st.Gid}, true
}

// hasACL says whether path carries a POSIX access ACL.
func hasACL(path string) bool {
	n, err := unix.Getxattr(path, "system.posix_acl_access", nil)
	return err == nil && n > 0
}

// access reports, once per directory in the way, that the service user
// cannot verb what (path, as named in the message) for want. It says
// whether the user can.
func (c *checker) access(check, where, path, verb, what string, want perm) bool {
	d := denied(c.user, path, want)
	if d == nil {
		return true
	}
	if d.dir {
		if c.blocked[d.path] {
			return false
		}
		if c.blocked == nil {
			c.blocked = map[string]bool{}
		}
		c.blocked[d.path] = true
	}
	sev := Error
	if d.acl {
		sev = Warning
	}
	c.add(sev, check, where, d.message(c.user, verb, what), d.fix(c.user, want))
	return false
}

// loadUser finds the service account: --user, else the unit's User=, with
// the unit's Group= and SupplementaryGroups=, as systemd runs the service.
func (c *checker) loadUser() {
	name, where := c.opts.User, "--user"
	group, groupWhere := "", ""
	var supplementary []string
	var supplementaryWhere []string // of each group in supplementary
	if u := c.unit; u != nil {
		if v, w, _ := u.get("Service", "User"); v != "" && name == "" {
			name, where = v, w
		}
		if v, w, _ := u.get("Service", "Group"); v != "" {
			group, groupWhere = v, w
		}
		for _, o := range u.all("Service", "SupplementaryGroups") {
			for _, g := range strings.Fields(o.Value) {
				supplementary = append(supplementary, g)
				supplementaryWhere = append(supplementaryWhere, o.Where())
			}
		}
	}
	specifier := func(s string) bool { return strings.Contains(s, "%") }
	if name == "" || specifier(name) || specifier(group) || slices.ContainsFunc(supplementary, specifier) {
		return // no user known, or a specifier this check cannot expand
	}
	a, err := account.Lookup(name, group, supplementary)
	if err == nil {
		c.user = a
		return
	}
	what, create := "user "+name, "useradd --system --no-create-home "+name
	var unknownGroup user.UnknownGroupError
	if errors.As(err, &unknownGroup) {
		g := string(unknownGroup)
		what, create = "group "+g, "groupadd --system "+g
		if g == group {
			where = groupWhere
		} else if i := slices.Index(supplementary, g); i >= 0 {
			where = supplementaryWhere[i]
		}
	}
	if !account.Missing(err) {
		c.add(Warning, IDUserUnknown, where,
			fmt.Sprintf("cannot look up %s (%v), and /etc/nsswitch.conf names account databases besides /etc/passwd and /etc/group, which runapp does not read: who may read the files is not checked", what, err),
			"")
		return
	}
	c.add(Error, IDUserUnknown, where, what+" does not exist",
		fmt.Sprintf("create it (%s), or name another", create))
}
