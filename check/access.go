package check

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// account is the service user as the kernel sees it in permission checks.
type account struct {
	name   string
	uid    uint32
	gid    uint32
	group  string   // name of the primary group
	groups []uint32 // every group, the primary one included
}

func lookupAccount(name string) (*account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, numErr := strconv.Atoi(name); numErr == nil {
			u, err = user.LookupId(name)
		}
		if err != nil {
			return nil, err
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	a := &account{name: u.Username, uid: uint32(uid), gid: uint32(gid), group: groupName(uint32(gid))}
	ids, err := u.GroupIds()
	if err != nil {
		ids = []string{u.Gid}
	}
	for _, id := range ids {
		if g, err := strconv.ParseUint(id, 10, 32); err == nil {
			a.groups = append(a.groups, uint32(g))
		}
	}
	if !slices.Contains(a.groups, a.gid) {
		a.groups = append(a.groups, a.gid)
	}
	return a, nil
}

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
func (a *account) denied(path string, want perm) *denial {
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
		if why := a.may(d, permExec); why != "" {
			return &denial{path: d, why: why, dir: true, acl: hasACL(d)}
		}
	}
	if why := a.may(real, want); why != "" {
		fi, err := os.Stat(real)
		return &denial{path: real, why: why, dir: err == nil && fi.IsDir(), acl: hasACL(real)}
	}
	return nil
}

// may returns "" when a may do want to path itself, else how path is set.
func (a *account) may(path string, want perm) string {
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
	case a.uid == 0:
		allowed = want != permExec || fi.IsDir() || mode&0o111 != 0
	case st.Uid == a.uid:
		allowed = perm(mode>>6)&want == want
	case slices.Contains(a.groups, st.Gid):
		allowed = perm(mode>>3)&want == want
	default:
		allowed = perm(mode)&want == want
	}
	if allowed {
		return ""
	}
	return fmt.Sprintf("%s is %s %s:%s", path, fi.Mode(), userName(st.Uid), groupName(st.Gid))
}

// message words a denial for a problem: what a cannot do (verb), why, and
// whether an ACL may change the answer.
func (d *denial) message(a *account, verb, what string) string {
	msg := fmt.Sprintf("%s cannot %s %s: %s", a.name, verb, what, d.why)
	if d.acl {
		msg += fmt.Sprintf(" (it has an ACL, which check does not evaluate: see getfacl %s)", d.path)
	}
	return msg
}

// fix says how to let a through.
func (d *denial) fix(a *account, want perm) string {
	if d.dir {
		return fmt.Sprintf("let %s search the directory, e.g. chgrp %s %s && chmod g+x %s", a.name, a.group, d.path, d.path)
	}
	return fmt.Sprintf("e.g. chgrp %s %s && chmod g+%s %s", a.group, d.path, want.letter(), d.path)
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

func userName(uid uint32) string {
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		return u.Username
	}
	return strconv.FormatUint(uint64(uid), 10)
}

func groupName(gid uint32) string {
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		return g.Name
	}
	return strconv.FormatUint(uint64(gid), 10)
}

// access reports, once per directory in the way, that the service user
// cannot verb what (path, as named in the message) for want. It says
// whether the user can.
func (c *checker) access(check, where, path, verb, what string, want perm) bool {
	d := c.user.denied(path, want)
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

// loadUser finds the service user: --user, else the unit's User=.
func (c *checker) loadUser() {
	name, where := c.opts.User, "--user"
	if name == "" && c.unit != nil {
		if v, line, ok := c.unit.get("Service", "User"); ok && v != "" {
			name, where = v, c.unit.where(line)
		}
	}
	if name == "" || strings.Contains(name, "%") {
		return // no user known, or a specifier this check cannot expand
	}
	a, err := lookupAccount(name)
	if err != nil {
		c.add(Error, IDUserUnknown, where, fmt.Sprintf("user %s does not exist", name),
			fmt.Sprintf("create it (useradd --system --no-create-home %s), or name another", name))
		return
	}
	c.user = a
}
