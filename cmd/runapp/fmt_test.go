package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// runappAs runs the test binary as runapp in dir, as the user name.
func runappAs(t *testing.T, name, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(testenv.Runnable(t), args...)
	cmd.Dir = dir
	cmd.Env = []string{"RUNAPP_TEST_MAIN=1", "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: testenv.Credential(t, name)}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// sharedDir is a t.TempDir that other users may enter.
func sharedDir(t *testing.T, mode os.FileMode) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(dir), 0o755)) // t.TempDir's parent is private
	require.NoError(t, os.Chmod(dir, mode))
	return dir
}

// TestFmtWriteSameFileTwice: a file named twice, in any spelling, is
// formatted and written once, so its backup is the original.
func TestFmtWriteSameFileTwice(t *testing.T) {
	for name, other := range map[string]func(dir string) string{
		"the same name":    func(dir string) string { return filepath.Join(dir, ".env") },
		"another spelling": func(dir string) string { return dir + "/./.env" },
		"a symlink": func(dir string) string {
			link := filepath.Join(t.TempDir(), "link.env")
			require.NoError(t, os.Symlink(filepath.Join(dir, ".env"), link))
			return link
		},
		"a hard link": func(dir string) string {
			link := filepath.Join(dir, "hard.env")
			require.NoError(t, os.Link(filepath.Join(dir, ".env"), link))
			return link
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, ".env")
			require.NoError(t, os.WriteFile(path, []byte(fmtIn), 0o600))
			again := other(dir)

			r := runapp(t, nil, "fmt", "-l", path, again)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Equal(t, path+"\n", r.stdout, "listed once")

			r = runapp(t, nil, "fmt", "-w", path, again)
			require.Equal(t, 0, r.code, r.stderr)
			assert.Equal(t, 1, strings.Count(r.stderr, "rewrote"), r.stderr)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, fmtOut, string(data))
			data, err = os.ReadFile(path + "~")
			require.NoError(t, err)
			assert.Equal(t, fmtIn, string(data), "the backup is the original")
		})
	}
}

// TestFmtFlagsAsGofmt: -l, -d and -w combine as gofmt's do, which is the
// reference: -l lists, -d prints the diff, -w writes, each when the file
// changes, and the formatted file goes to stdout only without any of them.
func TestFmtFlagsAsGofmt(t *testing.T) {
	gofmt := testenv.LookPath(t, "gofmt")
	// What a run did to one file: listed it, printed a diff, printed the
	// formatted file, wrote it.
	type effect struct{ listed, diffed, printed, written bool }
	observe := func(stdout, path, before, formatted string) effect {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		return effect{
			listed:  slices.Contains(strings.Split(stdout, "\n"), path),
			diffed:  strings.Contains(stdout, "\n@@ -"),
			printed: strings.Contains(stdout, formatted),
			written: string(data) != before,
		}
	}
	cases := []struct{ name, goIn, goOut, envIn, envOut string }{
		{"a file that changes", "package p\nvar  x=1\n", "package p\n\nvar x = 1\n", fmtIn, fmtOut},
		{"a file in form", "package p\n\nvar x = 1\n", "package p\n\nvar x = 1\n", fmtOut, fmtOut},
	}
	for _, c := range cases {
		for _, flags := range [][]string{{}, {"-l"}, {"-d"}, {"-w"}, {"-l", "-d"}, {"-l", "-w"}, {"-d", "-w"}, {"-l", "-d", "-w"}} {
			t.Run(c.name+" "+strings.Join(flags, " "), func(t *testing.T) {
				dir := t.TempDir()
				goFile, envFile := filepath.Join(dir, "x.go"), filepath.Join(dir, ".env")
				require.NoError(t, os.WriteFile(goFile, []byte(c.goIn), 0o600))
				require.NoError(t, os.WriteFile(envFile, []byte(c.envIn), 0o600))
				out, err := exec.Command(gofmt, append(flags, goFile)...).Output()
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 { // 1: -d found a difference
					require.NoError(t, err, "%s", out)
				}
				want := observe(string(out), goFile, c.goIn, c.goOut)
				r := runapp(t, nil, append(append([]string{"fmt"}, flags...), "--no-backup", envFile)...)
				require.Equal(t, 0, r.code, r.stderr)
				assert.Equal(t, want, observe(r.stdout, envFile, c.envIn, c.envOut))
			})
		}
	}
}

// TestFmtWriteThroughSymlink: a symlinked env file (app/.env ->
// ../shared/.env, as release directories have) is rewritten where the
// link points, atomically in that directory, and the link stays a link.
func TestFmtWriteThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	shared, app := filepath.Join(dir, "shared"), filepath.Join(dir, "app")
	require.NoError(t, os.Mkdir(shared, 0o755))
	require.NoError(t, os.Mkdir(app, 0o755))
	target := filepath.Join(shared, ".env")
	require.NoError(t, os.WriteFile(target, []byte(fmtIn), 0o640))
	require.NoError(t, os.Chmod(target, 0o640))
	link := filepath.Join(app, ".env")
	require.NoError(t, os.Symlink("../shared/.env", link))
	before, err := os.Stat(target)
	require.NoError(t, err)

	r := runapp(t, nil, "fmt", "-w", link)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "rewrote "+link+" (a link to "+target+"); the original is "+target+"~")
	dest, err := os.Readlink(link)
	require.NoError(t, err)
	assert.Equal(t, "../shared/.env", dest, "the link stays")
	data, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, fmtOut, string(data))
	fi, err := os.Stat(target)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode())
	bak, err := os.Stat(target + "~")
	require.NoError(t, err)
	assert.True(t, os.SameFile(before, bak), "the backup is the original, beside it")
	assert.Equal(t, []string{".env"}, dirNames(t, app))
	assert.Equal(t, []string{".env", ".env~"}, dirNames(t, shared))
}

// TestFmtWriteAllOrNothing: with several files, -w writes all of them or,
// when one cannot be written, none: here b.env's backup cannot be made
// (a directory has its name), so a.env, listed first, stays as it was.
func TestFmtWriteAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.env"), filepath.Join(dir, "b.env")
	require.NoError(t, os.WriteFile(a, []byte(fmtIn), 0o600))
	require.NoError(t, os.WriteFile(b, []byte(fmtIn), 0o600))
	require.NoError(t, os.Mkdir(b+"~", 0o755))

	r := runapp(t, nil, "fmt", "-w", a, b)
	assert.Equal(t, 78, r.code)
	assert.Equal(t, "runapp: cannot write "+b+": cannot keep the original as "+b+"~: is a directory\nrunapp: fmt: nothing written\n", r.stderr)
	for _, p := range []string{a, b} {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, fmtIn, string(data), p)
	}
	assert.Equal(t, []string{"a.env", "b.env", "b.env~"}, dirNames(t, dir))
}

// TestFmtWriteRenameFails: the one partial run -w can leave, a rename that
// fails after others succeeded (here over an immutable file), is said as
// such: which file was written, which was not, and no temporary file's
// name. With backups the same file fails before anything is written.
func TestFmtWriteRenameFails(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.env"), filepath.Join(dir, "b.env")
	require.NoError(t, os.WriteFile(a, []byte(fmtIn), 0o600))
	require.NoError(t, os.WriteFile(b, []byte(fmtIn), 0o600))
	testenv.Immutable(t, b)

	r := runapp(t, nil, "fmt", "-w", a, b)
	assert.Equal(t, 78, r.code)
	assert.Equal(t, "runapp: cannot write "+b+": cannot keep the original as "+b+"~: operation not permitted\nrunapp: fmt: nothing written\n", r.stderr)
	assert.Equal(t, []string{"a.env", "b.env"}, dirNames(t, dir))

	r = runapp(t, nil, "fmt", "-w", "--no-backup", a, b)
	assert.Equal(t, 78, r.code)
	assert.Equal(t, "runapp: cannot write "+b+": cannot rename the new content over it: operation not permitted\n"+
		"runapp: fmt: written: "+a+"; not written: "+b+"\n", r.stderr)
	data, err := os.ReadFile(a)
	require.NoError(t, err)
	assert.Equal(t, fmtOut, string(data))
	data, err = os.ReadFile(b)
	require.NoError(t, err)
	assert.Equal(t, fmtIn, string(data))
	assert.Equal(t, []string{"a.env", "b.env"}, dirNames(t, dir))
}

// TestFmtWriteOwnerNotKept: when the file's owner cannot be kept (a user
// may not give a file to root), nothing is written and nothing is left,
// no backup (a second link to the secrets) included.
func TestFmtWriteOwnerNotKept(t *testing.T) {
	user := testenv.User(t)
	dir := sharedDir(t, 0o777) // the user may write the directory
	path := filepath.Join(dir, ".env")
	require.NoError(t, os.WriteFile(path, []byte(fmtIn), 0o666))
	require.NoError(t, os.Chmod(path, 0o666)) // root's, and the user may link it

	r := runappAs(t, user, dir, "fmt", "-w", ".env")
	assert.Equal(t, 78, r.code)
	assert.Equal(t, "runapp: cannot write .env: cannot keep its owner and group (0:0): operation not permitted\nrunapp: fmt: nothing written\n", r.stderr)
	assert.Equal(t, []string{".env"}, dirNames(t, dir))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, fmtIn, string(data))
}

// TestFmtWriteDirNotWritable: a file its user may write, in a directory
// they may not, cannot be replaced atomically: the message names the
// directory as the cause, and the fix.
func TestFmtWriteDirNotWritable(t *testing.T) {
	user := testenv.User(t)
	dir := sharedDir(t, 0o755) // root's
	path := filepath.Join(dir, ".env")
	require.NoError(t, os.WriteFile(path, []byte(fmtIn), 0o600))
	cred := testenv.Credential(t, user)
	require.NoError(t, os.Chown(path, int(cred.Uid), int(cred.Gid)))

	r := runappAs(t, user, dir, "fmt", "-w", ".env")
	assert.Equal(t, 78, r.code)
	assert.Equal(t, "runapp: cannot write .env: cannot create a file in "+dir+": permission denied "+
		"(a file is replaced by a new one made beside it and renamed over it: run as a user who may write "+dir+")\n"+
		"runapp: fmt: nothing written\n", r.stderr)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, fmtIn, string(data))
	assert.Equal(t, []string{".env"}, dirNames(t, dir))
}
