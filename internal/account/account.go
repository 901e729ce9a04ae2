// Package account resolves the account a systemd service runs as: its
// user, the group systemd gives it and every supplementary group, as the
// kernel sees them in permission checks. runapp unit, runapp check and
// deploy share it, so that they agree on who the service is.
package account

import (
	"bufio"
	"errors"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Account is a service's credential: User=, Group= and
// SupplementaryGroups= resolved as systemd resolves them.
type Account struct {
	Name   string   // the user's name
	UID    uint32   //
	GID    uint32   // the group the service runs with: Group=, else the user's primary group
	Group  string   // the name of GID (its number when it has none)
	Groups []uint32 // every group the service has, GID first, each once
}

// Lookup resolves the account of a unit with User=name (a user name, or a
// number when no user has that name), Group=group ("" for the user's
// primary group) and SupplementaryGroups=supplementary (group names or
// numbers).
//
// It follows systemd 252 (exec_child): the groups are getgrouplist(3) of
// the user with the service's GID (the groups that list the user as a
// member, plus GID; the user's primary group is left out when Group= names
// another, unless that group lists the user too, which os/user cannot
// tell), then SupplementaryGroups=.
//
// An unknown user or group is an error of type user.UnknownUserError or
// user.UnknownGroupError (user.UnknownUserIdError for a number); whether
// it means the account does not exist, Missing says.
func Lookup(name, group string, supplementary []string) (*Account, error) {
	u, err := lookupUser(name)
	if err != nil {
		return nil, err
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	primary, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	a := &Account{Name: u.Username, UID: uint32(uid), GID: uint32(primary)}
	if group != "" {
		if a.GID, err = lookupGroup(group); err != nil {
			return nil, err
		}
	}
	a.Group = GroupName(a.GID)
	a.Groups = []uint32{a.GID}
	// Without cgo, os/user reads /etc/group for the groups that list the
	// user and puts the primary group first; with cgo it asks
	// getgrouplist(3) with the primary group. Either way, the primary
	// group is in the list because it is the primary group.
	ids, _ := u.GroupIds()
	for _, id := range ids {
		if id == u.Gid {
			continue
		}
		if g, err := strconv.ParseUint(id, 10, 32); err == nil {
			a.add(uint32(g))
		}
	}
	for _, s := range supplementary {
		gid, err := lookupGroup(s)
		if err != nil {
			return nil, err
		}
		a.add(gid)
	}
	return a, nil
}

func (a *Account) add(gid uint32) {
	if !slices.Contains(a.Groups, gid) {
		a.Groups = append(a.Groups, gid)
	}
}

// In says whether gid is one of the account's groups.
func (a *Account) In(gid uint32) bool {
	return slices.Contains(a.Groups, gid)
}

// Credential is the account as a process credential, to run a program as
// the service would run.
func (a *Account) Credential() *syscall.Credential {
	return &syscall.Credential{Uid: a.UID, Gid: a.GID, Groups: slices.Clone(a.Groups)}
}

// lookupUser finds a user by name, else by number, as systemd's
// get_user_creds does.
func lookupUser(name string) (*user.User, error) {
	u, err := user.Lookup(name)
	if err == nil {
		return u, nil
	}
	if _, numErr := strconv.ParseUint(name, 10, 32); numErr == nil {
		return user.LookupId(name)
	}
	return nil, err
}

// lookupGroup finds a group's id by name, else by number.
func lookupGroup(name string) (uint32, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		if _, numErr := strconv.ParseUint(name, 10, 32); numErr != nil {
			return 0, err
		}
		if g, err = user.LookupGroupId(name); err != nil {
			return 0, err
		}
	}
	gid, err := strconv.ParseUint(g.Gid, 10, 32)
	return uint32(gid), err
}

// UserName is the name of uid, or its number when it has none.
func UserName(uid uint32) string {
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		return u.Username
	}
	return strconv.FormatUint(uint64(uid), 10)
}

// GroupName is the name of gid, or its number when it has none.
func GroupName(gid uint32) string {
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		return g.Name
	}
	return strconv.FormatUint(uint64(gid), 10)
}

// Missing says whether err, from Lookup, means that the user or group does
// not exist: os/user did not find it, and /etc/passwd and /etc/group are
// the only account databases (see Local). false for any other error, and
// for a name that other databases (LDAP, ...) may know: systemd will.
func Missing(err error) bool {
	var (
		unknownUser  user.UnknownUserError
		unknownUID   user.UnknownUserIdError
		unknownGroup user.UnknownGroupError
		unknownGID   user.UnknownGroupIdError
	)
	if !errors.As(err, &unknownUser) && !errors.As(err, &unknownUID) &&
		!errors.As(err, &unknownGroup) && !errors.As(err, &unknownGID) {
		return false
	}
	return Local()
}

// Local says whether /etc/passwd and /etc/group, which is all that os/user
// reads in a static binary, are the only account databases, so that a name
// missing there does not exist. systemd's own source only adds the dynamic
// users of units, which a generated unit does not use.
func Local() bool {
	f, err := os.Open("/etc/nsswitch.conf")
	if err != nil {
		return true // glibc's default without the file is files
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		db, sources, ok := strings.Cut(sc.Text(), ":")
		if !ok || (strings.TrimSpace(db) != "passwd" && strings.TrimSpace(db) != "group") {
			continue
		}
		sources, _, _ = strings.Cut(sources, "#")
		for _, s := range strings.Fields(sources) {
			if s != "files" && s != "systemd" && s != "compat" && !strings.HasPrefix(s, "[") {
				return false
			}
		}
	}
	return true
}
