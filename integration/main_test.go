// Package integration runs real programs: the built runapp binary, gunicorn
// and Django in a real virtualenv, bash, systemd's tools.
package integration

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/internal/testenv"
)

// Made once by TestMain for every test in the package.
var (
	repoRoot  string // the module's root directory
	tmpDir    string // removed after the tests
	runappBin string // runapp built as `make build` builds it
	buildErr  error  // why runappBin could not be built
	venvDir   string // a virtualenv made by scripts/mkvenv
	venvErr   error  // why venvDir could not be made: tests needing it skip
)

// starterEnv makes the test binary play a service manager: see starter.
const starterEnv = "RUNAPP_TEST_STARTER"

func TestMain(m *testing.M) {
	if os.Getenv(starterEnv) != "" {
		starter(os.Args[1:])
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "runapp-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = filepath.Dir(wd)
	tmpDir = tmp
	// Under nohup, as a runner may start the tests, SIGHUP is ignored, and
	// an ignored signal stays ignored through execve: runapp passes it on
	// as bash does (TestSignalDisposition), so every server the tests start
	// would survive HUP. A caught signal is reset by execve: catching it
	// here gives the tests' processes the default, as systemd gives a
	// service.
	if signal.Ignored(syscall.SIGHUP) {
		signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP)
	}
	runappBin, buildErr = build(tmp, "")
	venvDir, venvErr = mkvenv(filepath.Join(tmp, "venv"))
	return m.Run()
}

// build builds runapp with `make build`, for goarch ("": this machine's):
// the flags that make it static and give it its signal-recording entry point
// are the Makefile's.
func build(dir, goarch string) (string, error) {
	bin := filepath.Join(dir, "runapp")
	cmd := exec.Command("make", "-s", "build")
	if goarch != "" {
		bin += "-" + goarch
		cmd.Env = append(os.Environ(), "GOARCH="+goarch)
	}
	cmd.Args = append(cmd.Args, "BIN="+bin)
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot build runapp: %w\n%s", err, out)
	}
	return bin, nil
}

// mkvenv makes a virtualenv with scripts/mkvenv, which needs Debian's python
// with python3-gunicorn and python3-django.
func mkvenv(dir string) (string, error) {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		return "", fmt.Errorf("no /usr/bin/python3: %w", err)
	}
	out, err := exec.Command(filepath.Join(repoRoot, "scripts", "mkvenv"), dir).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("scripts/mkvenv: %w: %s", err, out)
	}
	return dir, nil
}

// needRunapp returns the built binary, failing the test if it could not be
// built: a build failure is a bug, never a reason to skip.
func needRunapp(t testing.TB) string {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return runappBin
}

// runapp built for arm64 by the first test that needs it.
var (
	arm64Once sync.Once
	arm64Bin  string
	arm64Err  error
)

// needRunappArm64 returns the command that runs runapp built for arm64
// under qemu-user: qemu-aarch64-static and the binary. It skips the test
// without qemu (Debian's qemu-user-static) and fails it if the build fails.
// qemu passes the signal mask, the ignored signals and the open-file limit
// through to the host kernel, and a program runapp execs (bash, sleep,
// gunicorn's Python: this machine's own) runs natively with what the
// arm64 code left.
func needRunappArm64(t testing.TB) []string {
	t.Helper()
	qemu := testenv.LookPath(t, "qemu-aarch64-static")
	arm64Once.Do(func() { arm64Bin, arm64Err = build(tmpDir, "arm64") })
	if arm64Err != nil {
		t.Fatal(arm64Err)
	}
	return []string{qemu, arm64Bin}
}

// needDeb builds runapp's Debian package for this machine with make deb,
// and returns its path; a failure fails the test.
func needDeb(t testing.TB) string {
	t.Helper()
	dist := filepath.Join(tmpDir, "dist")
	cmd := exec.Command("make", "-s", "deb", "ARCHES="+runtime.GOARCH, "DIST="+dist)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	debs, err := filepath.Glob(filepath.Join(dist, "runapp_*_"+runtime.GOARCH+".deb"))
	if err != nil || len(debs) != 1 {
		t.Fatalf("make deb made %v in %s (%v)\n%s", debs, dist, err, out)
	}
	return debs[0]
}

// needVenv returns the shared virtualenv, or skips the test without one.
func needVenv(t testing.TB) string {
	t.Helper()
	if venvErr != nil {
		testenv.Skip(t, venvErr.Error())
	}
	return venvDir
}

// What starter blocks and ignores, bit n-1 for signal n as in
// /proc/PID/status. SIGPIPE is ignored as systemd's IgnoreSIGPIPE=yes does,
// SIGHUP as nohup does; a blocked SIGUSR2 stands for any blocked signal,
// SIGURG for one the Go runtime itself needs.
const (
	starterBlocked uint64 = 1<<(unix.SIGUSR2-1) | 1<<(unix.SIGURG-1)
	starterIgnored uint64 = 1<<(unix.SIGPIPE-1) | 1<<(unix.SIGHUP-1)
)

// starterNofile is the soft open-file limit starter sets, below the hard
// one: package syscall raises it in every Go program, runapp included.
const starterNofile = 512

// starter execs argv with the signals above blocked and ignored and the
// soft open-file limit lowered. All stay across execve, so whatever argv[0]
// execs next sees them unless something in between changes them.
func starter(argv []string) {
	// The mask is per thread: set it on the thread that calls execve.
	runtime.LockOSThread()
	var set unix.Sigset_t
	set.Val[0] = starterBlocked
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
		fmt.Fprintln(os.Stderr, "starter:", err)
		os.Exit(1)
	}
	// The runtime sets SIG_IGN in the kernel for these (TestSignalDisposition
	// checks the result in /proc).
	signal.Ignore(unix.SIGPIPE, unix.SIGHUP)
	// syscall.Setrlimit, not unix's: it also stops unix.Exec below from
	// putting back the limit this process started with.
	var lim syscall.Rlimit
	err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if err == nil {
		lim.Cur = min(starterNofile, lim.Max)
		err = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "starter:", err)
		os.Exit(1)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, starterEnv+"=") {
			env = append(env, kv)
		}
	}
	err = unix.Exec(argv[0], argv, env)
	fmt.Fprintln(os.Stderr, "starter:", err)
	os.Exit(1)
}
