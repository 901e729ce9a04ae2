// Package testreaders runs the real readers of env files for the
// differential tests of envfile and envfmt: bash 5.2 (`set -a; source`),
// systemd 252's load_env_file, python-dotenv (Debian's python3-dotenv) and
// compose-go v2's dotenv package. Only tests import it, so runapp never
// links compose-go.
package testreaders

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Result is what one real reader made of one file.
type Result struct {
	// Err says why the reader did not read the file cleanly: an error, a
	// complaint, an assignment it drops. "" when it read it cleanly.
	Err string
	// Vars is every variable the file set, with its value.
	Vars map[string]string
}

// Dir is a directory the readers can read as an unprivileged user, holding
// copies of the files to compare.
type Dir struct {
	dir    string // files to read, 0755
	work   string // the working directory the readers run in, writable
	n      int
	nobody bool // bash runs as nobody: we are root and nobody can reach dir
}

// NewDir makes a Dir, removed when the test ends.
func NewDir(t testing.TB) *Dir {
	t.Helper()
	dir, err := os.MkdirTemp("", "runapp-ref-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	work := filepath.Join(dir, "work")
	require.NoError(t, os.Mkdir(work, 0o777))
	// MkdirTemp and Mkdir honour the umask; nobody must get in.
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chmod(work, 0o777))
	return &Dir{dir: dir, work: work, nobody: os.Geteuid() == 0 && worldSearchable(dir)}
}

// worldSearchable reports whether every directory from / down to dir lets
// other users through, so that nobody can read the files in dir.
func worldSearchable(dir string) bool {
	for ; ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if dir == filepath.Dir(dir) {
			return true
		}
	}
}

// Add writes data to a new file in the directory and returns its path.
func (d *Dir) Add(t testing.TB, data []byte) string {
	t.Helper()
	d.n++
	p := filepath.Join(d.dir, fmt.Sprintf("f%06d.env", d.n))
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

// run runs a reader on a batch of files in an environment of env alone.
// bash runs refused files as shell code; as nobody (when the tests run as
// root and TMPDIR lets nobody in), a stray redirection cannot write
// outside the scratch directory or /tmp.
func (d *Dir) run(t testing.TB, prog string, args, env []string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	if env == nil {
		env = []string{}
	}
	cmd.Env = env
	cmd.Dir = d.work
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second // a background job of a random file may hold stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if d.nobody && filepath.Base(prog) == "bash" {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	require.NoError(t, cmd.Run(), "%s failed: %s", filepath.Base(prog), stderr.String())
	return stdout.Bytes()
}
