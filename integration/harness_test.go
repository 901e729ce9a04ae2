package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/internal/testenv"
)

// How long gunicorn may take to boot Django on a busy two-core machine.
const bootTimeout = 60 * time.Second

// newApp copies the example app (its .env and src/) into a temporary
// directory, so a test can change it without touching the repository.
func newApp(t *testing.T) string {
	t.Helper()
	src := filepath.Join(repoRoot, "example")
	dst := filepath.Join(t.TempDir(), "app")
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() && (d.Name() == "__pycache__" || d.Name() == ".venv") {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	require.NoError(t, err)
	return dst
}

// writeFile writes data to path, making its directory.
func writeFile(t *testing.T, path, data string, perm os.FileMode) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(data), perm))
}

// baseEnv is the test's environment without the variables that would change
// what runapp or gunicorn do; tests add what they mean to set.
func baseEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "PYTHONPATH", name == "PYTHONHOME", name == "VIRTUAL_ENV",
			name == "GUNICORN_CMD_ARGS", name == "NOTIFY_SOCKET", name == "JOURNAL_STREAM",
			strings.HasPrefix(name, "LISTEN_"), strings.HasPrefix(name, "WATCHDOG_"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// freeAddr returns a 127.0.0.1 address no one listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// logBuffer collects a process's output and lets a test wait for a line.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{})} }

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.changed)
	b.changed = make(chan struct{})
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitCount waits until s occurs n times in the output.
func (b *logBuffer) waitCount(t *testing.T, s string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		b.mu.Lock()
		found, changed := strings.Count(b.buf.String(), s) >= n, b.changed
		b.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%q did not appear %d times within %v; output:\n%s", s, n, timeout, b)
		}
	}
}

// proc is a started process: runapp, or what starts runapp.
type proc struct {
	cmd  *exec.Cmd
	pid  int
	log  *logBuffer // stdout and stderr
	done chan struct{}
	err  error // cmd.Wait's result, once done is closed
}

// start starts argv in dir with env, and kills it and its children (its
// process group) when the test ends.
func start(t *testing.T, dir string, env []string, argv ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(argv[0], argv[1:]...), log: newLogBuffer(), done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Env = env
	p.cmd.Stdout = p.log
	p.cmd.Stderr = p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, p.cmd.Start())
	p.pid = p.cmd.Process.Pid
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = unix.Kill(-p.pid, unix.SIGKILL)
		<-p.done
		if t.Failed() {
			t.Logf("output of %s:\n%s", argv[0], p.log)
		}
	})
	return p
}

// signal sends sig to the process.
func (p *proc) signal(t *testing.T, sig unix.Signal) {
	t.Helper()
	require.NoError(t, unix.Kill(p.pid, sig))
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("still running after %v; output:\n%s", timeout, p.log)
	}
	return p.cmd.ProcessState.ExitCode()
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// client does not reuse connections: each request may go to another worker,
// and a kept-alive connection would hold a worker during graceful stops.
var client = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true},
	Timeout:   bootTimeout,
}

// get requests url and returns the status and body.
func get(url string) (int, []byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// waitFor polls ok until it holds. It fails the test, saying what was
// awaited (want) and what was seen last (have), when the process exits
// first or after bootTimeout.
func (p *proc) waitFor(t *testing.T, want string, ok func() bool, have func() string) {
	t.Helper()
	deadline := time.Now().Add(bootTimeout)
	for !ok() {
		if p.exited() {
			t.Fatalf("exited (%v) while waiting for %s (have %s); output:\n%s", p.err, want, have(), p.log)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v (have %s); output:\n%s", want, bootTimeout, have(), p.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitHTTP polls url until it answers 200 and returns the body.
func (p *proc) waitHTTP(t *testing.T, url string) []byte {
	t.Helper()
	var status int
	var body []byte
	var err error
	p.waitFor(t, "200 from "+url, func() bool {
		status, body, err = get(url)
		return err == nil && status == http.StatusOK
	}, func() string { return fmt.Sprintf("%d %v", status, err) })
	return body
}

// index is what the example app's / view answers.
type index struct {
	Env             map[string]*string `json:"env"`
	SecretKeySHA256 string             `json:"secret_key_sha256"`
	VirtualEnv      string             `json:"VIRTUAL_ENV"`
	PythonPath      string             `json:"PYTHONPATH"`
	Path            string             `json:"PATH"`
	SysPrefix       string             `json:"sys_prefix"`
	SysPath         []string           `json:"sys_path"`
	Cwd             string             `json:"cwd"`
	PID             int                `json:"pid"`
	PPID            int                `json:"ppid"`
}

func (p *proc) index(t *testing.T, addr string) index {
	t.Helper()
	var got index
	require.NoError(t, json.Unmarshal(p.waitHTTP(t, "http://"+addr+"/"), &got))
	return got
}

// envValues reads an env file the way runapp does.
func envValues(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := envfile.Read(path)
	require.NoError(t, err)
	values := map[string]string{}
	for _, e := range f.Entries {
		values[e.Name] = e.Value
	}
	return values
}

// assertEnv checks that the view received the .env values: the ones it
// shows as they are, SECRET_KEY by its digest.
func assertEnv(t *testing.T, want map[string]string, got index) {
	t.Helper()
	require.NotEmpty(t, got.Env)
	for name, value := range got.Env {
		if assert.NotNil(t, value, "%s not received", name) {
			assert.Equal(t, want[name], *value, name)
		}
	}
	sum := sha256.Sum256([]byte(want["SECRET_KEY"]))
	assert.Equal(t, hex.EncodeToString(sum[:]), got.SecretKeySHA256, "SECRET_KEY")
}

// children returns the PIDs whose parent is pid, sorted, from /proc.
// It takes no *testing.T, so that cleanup code running outside the test's
// goroutine may use it; /proc that cannot be read has no children to give.
func children(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var kids []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			kids = append(kids, child)
		}
	}
	slices.Sort(kids)
	return kids
}

// waitChildren waits until the process's children satisfy ok, and returns
// them.
func (p *proc) waitChildren(t *testing.T, what string, ok func([]int) bool) []int {
	t.Helper()
	var kids []int
	p.waitFor(t, what, func() bool {
		kids = children(p.pid)
		return ok(kids)
	}, func() string { return fmt.Sprintf("children %v", kids) })
	return kids
}

// procStatus returns the fields of /proc/PID/status.
func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	return statusFields(string(data))
}

// statusFields parses the text of a /proc/PID/status, read here or recorded
// inside the end-to-end container.
func statusFields(s string) map[string]string {
	fields := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok {
			fields[name] = strings.TrimSpace(value)
		}
	}
	return fields
}

// newNotifySocket is a NOTIFY_SOCKET, as systemd makes one, in the test's
// temporary directory.
func newNotifySocket(t *testing.T) *testenv.NotifySocket {
	return testenv.ListenNotify(t, filepath.Join(t.TempDir(), "notify"))
}
