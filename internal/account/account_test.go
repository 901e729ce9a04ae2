package account

import (
	"os/exec"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
)

func gid(t *testing.T, group string) uint32 {
	t.Helper()
	g, err := user.LookupGroup(group)
	require.NoError(t, err)
	n, err := strconv.ParseUint(g.Gid, 10, 32)
	require.NoError(t, err)
	return uint32(n)
}

// TestLookupAsSystemd: Group= replaces the primary group, the groups that
// list the user stay, SupplementaryGroups= adds, as systemd's exec_child
// computes the service's credential.
func TestLookupAsSystemd(t *testing.T) {
	member, other, extra := testenv.Group(t), testenv.Group(t), testenv.Group(t)
	name := testenv.User(t, member)
	primary, m, o, x := gid(t, name), gid(t, member), gid(t, other), gid(t, extra)

	tests := []struct {
		name          string
		user, group   string
		supplementary []string
		gid           uint32
		groups        []uint32
	}{
		{"User= alone", name, "", nil, primary, []uint32{primary, m}},
		{"Group= replaces the primary group", name, other, nil, o, []uint32{o, m}},
		{"Group= a group the user is in", name, member, nil, m, []uint32{m}},
		{"SupplementaryGroups= adds", name, other, []string{extra, strconv.Itoa(int(primary)), member}, o, []uint32{o, m, x, primary}},
		{"a numeric Group=", name, strconv.Itoa(int(o)), nil, o, []uint32{o, m}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Lookup(tt.user, tt.group, tt.supplementary)
			require.NoError(t, err)
			assert.Equal(t, name, a.Name)
			assert.Equal(t, tt.gid, a.GID)
			assert.Equal(t, GroupName(tt.gid), a.Group)
			assert.Equal(t, tt.groups, a.Groups)
			cred := a.Credential()
			assert.Equal(t, a.UID, cred.Uid)
			assert.Equal(t, tt.gid, cred.Gid)
			assert.Equal(t, tt.groups, cred.Groups)
		})
	}

	// A numeric User= is the user with that uid.
	a, err := Lookup(name, "", nil)
	require.NoError(t, err)
	byID, err := Lookup(strconv.FormatUint(uint64(a.UID), 10), "", nil)
	require.NoError(t, err)
	assert.Equal(t, a, byID)
}

// TestLookupMatchesID: without Group=, the groups are those id(1) gives,
// from getgrouplist(3) in glibc.
func TestLookupMatchesID(t *testing.T) {
	member := testenv.Group(t)
	name := testenv.User(t, member)
	for _, u := range []string{name, "root", "nobody"} {
		out, err := exec.Command(testenv.LookPath(t, "id"), "-G", u).Output()
		require.NoError(t, err)
		var want []uint32
		for _, f := range strings.Fields(string(out)) {
			n, err := strconv.ParseUint(f, 10, 32)
			require.NoError(t, err)
			want = append(want, uint32(n))
		}
		a, err := Lookup(u, "", nil)
		require.NoError(t, err)
		got := slices.Clone(a.Groups)
		slices.Sort(got)
		slices.Sort(want)
		assert.Equal(t, want, got, u)
	}
}

func TestLookupUnknown(t *testing.T) {
	_, err := Lookup("runapp-no-such-user-42", "", nil)
	assert.ErrorAs(t, err, new(user.UnknownUserError))
	_, err = Lookup("root", "runapp-no-such-group-42", nil)
	assert.ErrorAs(t, err, new(user.UnknownGroupError))
	_, err = Lookup("root", "", []string{"runapp-no-such-group-42"})
	assert.ErrorAs(t, err, new(user.UnknownGroupError))
	if Local() {
		assert.True(t, Missing(err))
	}
	assert.False(t, Missing(nil))
}
