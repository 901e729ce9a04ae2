package atomicfile

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
)

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

// names lists dir: no temporary file may be left in it.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var n []string
	for _, e := range entries {
		n = append(n, e.Name())
	}
	return n
}

func TestWriteNew(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.service"), filepath.Join(dir, "b.socket")
	require.NoError(t, WriteAll([]File{{Path: a, Data: []byte("A\n"), Perm: 0o644}, {Path: b, Data: []byte("B\n"), Perm: 0o600}}))
	assert.Equal(t, "A\n", read(t, a))
	assert.Equal(t, "B\n", read(t, b))
	for path, mode := range map[string]os.FileMode{a: 0o644, b: 0o600} {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, mode, fi.Mode(), path)
	}
	assert.Equal(t, []string{"a.service", "b.socket"}, names(t, dir))
}

// TestWriteKeepsModeAndOwner: a file replaced keeps what its owner set,
// not the mode a new file would get.
func TestWriteKeepsModeAndOwner(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	require.NoError(t, os.WriteFile(path, []byte("old\n"), 0o600))
	require.NoError(t, os.Chmod(path, 0o640|os.ModeSetgid))
	owned := os.Geteuid() == 0
	if owned {
		require.NoError(t, os.Chown(path, 65534, 65534)) // nobody:nogroup
	}
	require.NoError(t, Write(path, []byte("new\n"), 0o644))
	assert.Equal(t, "new\n", read(t, path))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, 0o640|os.ModeSetgid, fi.Mode())
	if owned {
		st := fi.Sys().(*syscall.Stat_t)
		assert.Equal(t, [2]uint32{65534, 65534}, [2]uint32{st.Uid, st.Gid})
	}
	assert.Equal(t, []string{".env"}, names(t, dir))
}

// TestWriteNothingOnFailure: a file that cannot be written stops every
// file, the ones before it included, and leaves no temporary file.
func TestWriteNothingOnFailure(t *testing.T) {
	for name, bad := range map[string]func(dir string) string{
		"a missing directory": func(dir string) string { return filepath.Join(dir, "missing", "b") },
		"a directory in the way": func(dir string) string {
			p := filepath.Join(dir, "b")
			require.NoError(t, os.Mkdir(p, 0o755))
			return p
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			a := filepath.Join(dir, "a")
			require.NoError(t, os.WriteFile(a, []byte("old\n"), 0o644))
			b := bad(dir)
			before := names(t, dir)
			err := WriteAll([]File{{Path: a, Data: []byte("new\n"), Perm: 0o644}, {Path: b, Data: []byte("B"), Perm: 0o644}})
			require.Error(t, err)
			assert.Contains(t, err.Error(), b)
			assert.Equal(t, "old\n", read(t, a))
			assert.Equal(t, before, names(t, dir))
		})
	}
}

// TestWriteKeepOwnerOrNothing: when the owner of the file replaced cannot
// be kept, nothing is written.
func TestWriteKeepOwnerOrNothing(t *testing.T) {
	testenv.Root(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "a")
	require.NoError(t, os.WriteFile(path, []byte("old\n"), 0o644))
	require.NoError(t, os.Chown(path, 0, 0))
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755)) // t.TempDir's parent is private
	require.NoError(t, os.Chmod(dir, 0o777))
	// As nobody, who may write the directory but not give root a file:
	// a copy of the test binary nobody may run, as the helper process.
	self, err := os.Executable()
	require.NoError(t, err)
	data, err := os.ReadFile(self)
	require.NoError(t, err)
	helper := filepath.Join(filepath.Dir(dir), "atomicfile.test")
	require.NoError(t, os.WriteFile(helper, data, 0o755))
	cmd := exec.Command(helper, "-test.run=^TestHelperWrite$")
	cmd.Env = append(os.Environ(), "RUNAPP_TEST_WRITE="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "%s", out)
	assert.Contains(t, string(out), "cannot keep its owner and group (0:0)")
	assert.Equal(t, "old\n", read(t, path))
	assert.Equal(t, []string{"a"}, names(t, dir))
}

// TestHelperWrite is the helper process of TestWriteKeepOwnerOrNothing.
func TestHelperWrite(t *testing.T) {
	path := os.Getenv("RUNAPP_TEST_WRITE")
	if path == "" {
		return // not run as the helper
	}
	if err := Write(path, []byte("new\n"), 0o644); err != nil {
		os.Stdout.WriteString(err.Error())
		os.Exit(1)
	}
	os.Exit(0)
}

// TestWriteReplacesSymlink: the link is replaced, what it points to is
// left alone.
func TestWriteReplacesSymlink(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "target"), filepath.Join(dir, "link")
	require.NoError(t, os.WriteFile(target, []byte("target\n"), 0o600))
	require.NoError(t, os.Symlink(target, link))
	require.NoError(t, Write(link, []byte("new\n"), 0o644))
	assert.Equal(t, "target\n", read(t, target))
	fi, err := os.Lstat(link)
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular())
	assert.Equal(t, os.FileMode(0o644), fi.Mode())
	assert.Equal(t, "new\n", read(t, link))
}

// TestWriteRenameFails: a rename that fails (over an immutable file: root
// may not either) names the file being written, not the temporary file,
// says which files were written already, and leaves no temporary file.
func TestWriteRenameFails(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	require.NoError(t, os.WriteFile(a, []byte("old\n"), 0o644))
	require.NoError(t, os.WriteFile(b, []byte("old\n"), 0o644))
	testenv.Immutable(t, b)
	err := WriteAll([]File{{Path: a, Data: []byte("new\n"), Perm: 0o644}, {Path: b, Data: []byte("new\n"), Perm: 0o644}})
	require.Error(t, err)
	assert.Equal(t, "write "+b+": cannot rename the new content over it: operation not permitted (written already: "+a+")", err.Error())
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, []string{a}, e.Written)
	assert.Equal(t, "new\n", read(t, a))
	assert.Equal(t, "old\n", read(t, b))
	assert.Equal(t, []string{"a", "b"}, names(t, dir))
}

// TestWriteBackup: the backup is the original file itself, a hard link
// made only once every file is ready: a file that cannot be written
// leaves no backup of the ones before it.
func TestWriteBackup(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	require.NoError(t, os.WriteFile(a, []byte("old\n"), 0o600))
	require.NoError(t, os.Mkdir(b, 0o755))
	files := []File{{Path: a, Data: []byte("new\n"), Backup: a + "~"}, {Path: b, Data: []byte("B"), Backup: b + "~"}}
	require.Error(t, WriteAll(files))
	assert.Equal(t, []string{"a", "b"}, names(t, dir))

	before, err := os.Stat(a)
	require.NoError(t, err)
	require.NoError(t, WriteAll(files[:1]))
	assert.Equal(t, "new\n", read(t, a))
	bak, err := os.Stat(a + "~")
	require.NoError(t, err)
	assert.True(t, os.SameFile(before, bak))
	assert.Equal(t, "old\n", read(t, a+"~"))
	assert.Equal(t, []string{"a", "a~", "b"}, names(t, dir))
}
