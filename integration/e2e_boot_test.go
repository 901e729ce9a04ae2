package integration

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The machinery of the end-to-end suite: a cached Debian root, a throw-away
// overlay on it, the files the container needs, one boot, and the results
// the in-container checker (e2e/check.sh) leaves behind.

// e2eBootTimeout bounds one boot with every check in it; the checks take
// well under a minute, so reaching it means something hangs.
const e2eBootTimeout = 10 * time.Minute

// e2eTimeout returns how long the boot may take: e2eBootTimeout, or less
// when go test's own -timeout comes first, so that the container is halted
// and the overlay unmounted before go test panics.
func e2eTimeout(t *testing.T) time.Duration {
	t.Helper()
	d := e2eBootTimeout
	if deadline, ok := t.Deadline(); ok {
		d = min(d, time.Until(deadline)-30*time.Second)
	}
	if d < time.Minute {
		t.Fatalf("go test -timeout leaves %v to boot; give it a few minutes more", d)
	}
	return d
}

// e2eRoot returns the cached root scripts/mkroot builds (about 80 s the first
// time on two cores, nothing after).
func e2eRoot(t *testing.T) string {
	t.Helper()
	start := time.Now()
	cmd := exec.Command(filepath.Join(repoRoot, "scripts", "mkroot"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	require.NoError(t, err, "scripts/mkroot")
	root := strings.TrimSpace(string(out))
	t.Logf("root %s ready in %s", root, time.Since(start).Round(time.Millisecond))
	return root
}

// e2eOverlay mounts a writable overlay on the cached root and returns its
// directory: each run starts from the pristine root, at no copying cost
// (copying the 270 MB tree takes about 2 s; the mount, a millisecond).
func e2eOverlay(t *testing.T, lower string) string {
	t.Helper()
	tmp := t.TempDir()
	upper, work, dir := filepath.Join(tmp, "upper"), filepath.Join(tmp, "work"), filepath.Join(tmp, "root")
	for _, d := range []string{upper, work, dir} {
		require.NoError(t, os.Mkdir(d, 0o755))
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	require.NoError(t, unix.Mount("overlay", dir, "overlay", 0, opts), "mount overlay on %s", dir)
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// e2eInstall copies into root what setup.sh and check.sh expect: runapp's
// Debian package (setup.sh installs it with dpkg -i), loadgen, this suite's e2e/
// directory, the example app, scripts/mkvenv and the env-file parser's
// accepted corpus.
func e2eInstall(t *testing.T, root, deb string) {
	t.Helper()
	e2e := filepath.Join(root, "e2e")
	cp(t, filepath.Join(repoRoot, "integration", "e2e"), e2e)
	require.NoError(t, os.MkdirAll(filepath.Join(e2e, "example"), 0o755))
	cp(t, filepath.Join(repoRoot, "example", "src"), filepath.Join(e2e, "example", "src"))
	cp(t, filepath.Join(repoRoot, "example", ".env"), filepath.Join(e2e, "example", ".env"))
	cp(t, filepath.Join(repoRoot, "example", "fastapi"), filepath.Join(e2e, "example", "fastapi"))
	cp(t, filepath.Join(repoRoot, "example", "procs"), filepath.Join(e2e, "example", "procs"))
	cp(t, filepath.Join(repoRoot, "scripts", "mkvenv"), filepath.Join(e2e, "mkvenv"))
	cp(t, deb, filepath.Join(e2e, "runapp.deb"))
	e2eInstallLoadgen(t, root)

	corpus := e2eCorpus(t)
	require.NoError(t, os.Mkdir(filepath.Join(e2e, "parity"), 0o755))
	for _, f := range corpus {
		cp(t, f, filepath.Join(e2e, "parity", filepath.Base(f)))
	}
}

// e2eCorpus lists the env files the parser accepts (envfile/testdata/accept).
func e2eCorpus(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "envfile", "testdata", "accept", "*.env"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no accepted env files in envfile/testdata/accept")
	return files
}

// cp copies a file or a directory tree, keeping modes.
func cp(t *testing.T, src, dst string) {
	t.Helper()
	out, err := exec.Command("cp", "-a", "--no-preserve=ownership", src, dst).CombinedOutput()
	require.NoError(t, err, "cp %s %s: %s", src, dst, out)
}

// e2eNspawn returns the systemd-nspawn command line shared by the setup run
// and the boot: no registration with a host systemd (there may be none), a
// private network so port 80 is the container's own.
func e2eNspawn(ctx context.Context, nspawn, root string, args ...string) *exec.Cmd {
	base := []string{"-q", "--register=no", "--keep-unit", "--private-network",
		"-D", root, "-M", "runapp-e2e-" + strconv.Itoa(os.Getpid())}
	cmd := exec.CommandContext(ctx, nspawn, append(base, args...)...)
	// SIGTERM makes nspawn halt the container cleanly; KILL only if that
	// hangs. Killing nspawn alone would orphan the container's init (a child
	// of nspawn in a PID namespace of its own), so it is killed too, which
	// ends every process of the container.
	cmd.Cancel = func() error {
		leaders := children(cmd.Process.Pid)
		time.AfterFunc(cmd.WaitDelay-time.Second, func() {
			for _, pid := range leaders {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		})
		return cmd.Process.Signal(syscall.SIGTERM)
	}
	// And if go test dies first (its -timeout panics), no container outlives it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	cmd.WaitDelay = 30 * time.Second
	return cmd
}

// e2eSetup runs e2e/setup.sh in the root without booting it.
func e2eSetup(t *testing.T, nspawn, root string) {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := e2eNspawn(ctx, nspawn, root, "--pipe", "/bin/bash", "/e2e/setup.sh").CombinedOutput()
	require.NoError(t, err, "setup.sh in the container:\n%s", out)
	t.Logf("setup (users, virtualenvs, units) took %s", time.Since(start).Round(time.Millisecond))
}

// e2eBoot boots root until the checker powers it off, and returns the
// results directory.
func e2eBoot(t *testing.T, nspawn, root string) e2eResults {
	t.Helper()
	res := e2eResults{dir: filepath.Join(t.TempDir(), "results")}
	// Kept for a look at every fact when RUNAPP_E2E_RESULTS names a directory.
	if keep := os.Getenv("RUNAPP_E2E_RESULTS"); keep != "" {
		res.dir = filepath.Join(keep, time.Now().Format("20060102-150405"))
		t.Logf("results in %s", res.dir)
	}
	require.NoError(t, os.MkdirAll(res.dir, 0o755))
	console, err := os.Create(filepath.Join(res.dir, "console.log"))
	require.NoError(t, err)
	defer console.Close()

	timeout := e2eTimeout(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := e2eNspawn(ctx, nspawn, root, "-b", "--console=pipe", "--bind="+res.dir+":/results")
	cmd.Stdout, cmd.Stderr = console, console
	start := time.Now()
	err = cmd.Run()
	t.Logf("boot, checks and poweroff took %s", time.Since(start).Round(time.Millisecond))
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		res.dump(t, "console.log", "trace")
		t.Fatalf("the container did not power off within %v", timeout)
	}
	if _, statErr := os.Stat(filepath.Join(res.dir, "done")); err != nil || statErr != nil {
		res.dump(t, "console.log", "trace", "journal.txt")
		t.Fatalf("the checker did not finish (nspawn: %v)", err)
	}
	return res
}

// e2eResults reads what check.sh recorded; see the contract at its top.
type e2eResults struct{ dir string }

// read returns the fact name, failing the test when it was not recorded.
func (r e2eResults) read(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(r.dir, name))
	require.NoError(t, err, "fact %s was not recorded", name)
	return string(data)
}

// line returns the fact name without its trailing newline.
func (r e2eResults) line(t *testing.T, name string) string {
	t.Helper()
	return strings.TrimSuffix(r.read(t, name), "\n")
}

// show parses a fact holding `systemctl show` output. With several units the
// later one's keys win; check.sh records one unit per file where it matters.
func (r e2eResults) show(t *testing.T, name string) map[string]string {
	t.Helper()
	props := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(r.read(t, name)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			props[k] = v
		}
	}
	require.NoError(t, sc.Err())
	return props
}

// explain prints, when t has failed, each unit's file, status and journal
// as the container saw them.
func (r e2eResults) explain(t *testing.T, units ...string) {
	t.Helper()
	if !t.Failed() {
		return
	}
	for _, u := range units {
		r.dump(t, "units/"+u+".cat", "units/"+u+".status", "units/"+u+".journal")
	}
	r.dump(t, "trace")
}

// dump logs the named result files, as far as they exist.
func (r e2eResults) dump(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(r.dir, name))
		if err != nil {
			t.Logf("--- %s: %v", name, err)
			continue
		}
		t.Logf("--- %s:\n%s", name, data)
	}
}
