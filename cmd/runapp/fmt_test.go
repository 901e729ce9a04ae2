package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/runapp/runapp/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fmtIn = "export DEBUG=1 # local\r\nSECRET_KEY = \"" + secret + "#x\"\r\n"
const fmtOut = "# local\nDEBUG=1\nSECRET_KEY='" + secret + "#x'\n"

func TestFmtStdoutDiffList(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	require.NoError(t, os.WriteFile(path, []byte(fmtIn), 0o600))

	r := runapp(t, nil, "fmt", path)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, fmtOut, r.stdout, "stdout is exactly the new content")

	r = runapp(t, nil, "fmt", "--app-dir", dir) // the configuration's env files
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, fmtOut, r.stdout)

	r = runapp(t, nil, "fmt", "-d", path)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "-export DEBUG=1 # local\r\n")
	assert.Contains(t, r.stdout, "+# local\n+DEBUG=1\n")

	r = runapp(t, nil, "fmt", "-l", path)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, path+"\n", r.stdout)

	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, fmtIn, string(got), "only -w writes")
}

func TestFmtWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	require.NoError(t, os.WriteFile(path, []byte(fmtIn), 0o640))
	require.NoError(t, os.Chmod(path, 0o640))
	uid, gid := os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		uid, gid = 1234, 5678
		require.NoError(t, os.Chown(path, uid, gid))
	}
	before, err := os.Stat(path)
	require.NoError(t, err)

	r := runapp(t, nil, "fmt", "-w", path)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "the original is "+path+"~")
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, fmtOut, string(got))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm(), "mode kept")
	st := fi.Sys().(*syscall.Stat_t)
	assert.Equal(t, uid, int(st.Uid), "owner kept")
	assert.Equal(t, gid, int(st.Gid), "group kept")

	// The backup is the original file itself.
	bak, err := os.Stat(path + "~")
	require.NoError(t, err)
	assert.True(t, os.SameFile(before, bak))
	data, err := os.ReadFile(path + "~")
	require.NoError(t, err)
	assert.Equal(t, fmtIn, string(data))
	assert.Equal(t, os.FileMode(0o640), bak.Mode().Perm())

	// In form: left byte for byte, not even rewritten.
	r = runapp(t, nil, "fmt", "-w", path)
	require.Equal(t, 0, r.code, r.stderr)
	again, err := os.Stat(path)
	require.NoError(t, err)
	assert.True(t, os.SameFile(fi, again), "a file in form is not replaced")

	// --no-backup keeps none.
	other := filepath.Join(dir, "other.env")
	require.NoError(t, os.WriteFile(other, []byte(fmtIn), 0o600))
	r = runapp(t, nil, "fmt", "-w", "--no-backup", other)
	require.Equal(t, 0, r.code, r.stderr)
	assert.NoFileExists(t, other+"~")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 3, "no temporary file left: %v", entries)
}

// TestFmtWritesNothingWhenAsked: a line fmt asks about means no file is
// written, none of several, and exit 78 with FILE:LINE and no value.
func TestFmtWritesNothingWhenAsked(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.env")
	bad := filepath.Join(dir, "bad.env")
	require.NoError(t, os.WriteFile(good, []byte(fmtIn), 0o600))
	require.NoError(t, os.WriteFile(bad, []byte("A=1\nSECRET_KEY="+secret+"$ht\n"), 0o600))
	r := runapp(t, nil, "fmt", "-w", good, bad)
	assert.Equal(t, 78, r.code)
	assert.Contains(t, r.stderr, bad+":2: SECRET_KEY: ")
	assert.Contains(t, r.stderr, "--from")
	assert.NotContains(t, r.stderr, secret)
	assert.NotContains(t, r.stderr, "$ht")
	for _, p := range []string{good, bad} {
		assert.NoFileExists(t, p+"~")
	}
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	assert.Equal(t, fmtIn, string(data))

	// --from settles it.
	r = runapp(t, nil, "fmt", "--from", "python-dotenv", bad)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "A=1\nSECRET_KEY='"+secret+"$ht'\n", r.stdout)

	// Not an env file at all.
	script := filepath.Join(dir, "run.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\nexec gunicorn\n"), 0o600))
	r = runapp(t, nil, "fmt", script)
	assert.Equal(t, 78, r.code)
	assert.Contains(t, r.stderr, script+":1: not an env file")
}

// TestFmtWriteFailsMidway: when writing the new content fails (here the
// file-size limit stops it), the old file stays as it was and no
// temporary file is left.
func TestFmtWriteFailsMidway(t *testing.T) {
	bash := testenv.LookPath(t, "bash")
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	in := strings.Repeat("export A=1 # a comment that moves to its own line\n", 60)
	require.NoError(t, os.WriteFile(path, []byte(in), 0o600))
	cmd := exec.Command(bash, "-c", `ulimit -f 1 && exec "$0" fmt -w --no-backup "$1"`, os.Args[0], path)
	cmd.Env = []string{"RUNAPP_TEST_MAIN=1", "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "%s", out)
	assert.Contains(t, string(out), "cannot write "+path)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, in, string(data))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "temporary file left: %v", entries)
}

// TestFmtEmptyFile: an empty file is already in form: -l does not list it,
// -w leaves it alone and keeps no backup of it.
func TestFmtEmptyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	require.NoError(t, os.WriteFile(path, nil, 0o600))

	r := runapp(t, nil, "fmt", "-l", path)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stdout)

	r = runapp(t, nil, "fmt", "-w", path)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Empty(t, data)
	assert.Equal(t, []string{".env"}, dirNames(t, dir))
}

// dirNames lists dir: no temporary file or backup may be left in it.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
