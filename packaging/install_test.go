package packaging

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
)

// repoRoot is the module's root, where the Makefile is.
const repoRoot = ".."

// runMake runs make in the repository with args, and returns its output.
func runMake(t *testing.T, args ...string) string {
	t.Helper()
	mk := testenv.LookPath(t, "make")
	cmd := exec.Command(mk, append([]string{"-s"}, args...)...)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "make %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// tree describes every file and directory under root: path, type and mode,
// and a file's content hash or a symlink's target.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		desc := info.Mode().String()
		switch {
		case info.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %x", sha256.Sum256(data))
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			desc += " -> " + target
		}
		m[rel] = desc
		return nil
	})
	require.NoError(t, err)
	return m
}

// TestInstallUninstall runs make install into a DESTDIR that looks like a
// system (the directories exist and hold someone else's files), checks what
// it installed, then make uninstall, which must leave the tree exactly as it
// was.
func TestInstallUninstall(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "runapp")
	// A first install into an empty directory says which files make
	// install puts where.
	probe := t.TempDir()
	runMake(t, "install", "DESTDIR="+probe, "BIN="+bin)
	var installed []string
	for rel, desc := range tree(t, probe) {
		if !strings.HasPrefix(desc, "d") {
			installed = append(installed, rel)
		}
	}
	for _, want := range []string{
		"usr/local/bin/runapp",
		"usr/local/share/man/man1/runapp.1",
		"usr/local/share/bash-completion/completions/runapp",
		"usr/local/share/zsh/site-functions/_runapp",
	} {
		require.Contains(t, installed, want)
	}

	dest := t.TempDir()
	for _, rel := range installed {
		dir := filepath.Join(dest, filepath.Dir(rel))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "someone-else"), []byte("keep\n"), 0o644))
	}
	before := tree(t, dest)

	out := runMake(t, "install", "DESTDIR="+dest, "BIN="+bin)
	after := tree(t, dest)
	for _, rel := range installed {
		assert.Contains(t, after, rel, "make install:\n%s", out)
		delete(after, rel)
	}
	assert.Equal(t, before, after, "make install changed more than it installed")
	st, err := os.Stat(filepath.Join(dest, "usr/local/bin/runapp"))
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o755), st.Mode().Perm())
	version, err := exec.Command(filepath.Join(dest, "usr/local/bin/runapp"), "version").Output()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(version), "runapp "), "%s", version)

	runMake(t, "uninstall", "DESTDIR="+dest)
	assert.Equal(t, before, tree(t, dest), "make uninstall did not leave the tree as it was")

	// PREFIX moves everything.
	usr := t.TempDir()
	runMake(t, "install", "DESTDIR="+usr, "PREFIX=/usr", "BIN="+bin)
	assert.FileExists(t, filepath.Join(usr, "usr/bin/runapp"))
}
