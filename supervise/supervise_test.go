package supervise

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The test binary plays every program of these tests (the helper-process
// pattern): roleEnv says which.
const (
	roleEnv  = "SUPERVISE_TEST_ROLE"
	procsEnv = "SUPERVISE_TEST_PROCS" // the supervisor's processes, as JSON
)

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "supervisor":
		supervisor()
	case "child":
		playChild(os.Args[1:])
	case "grandchild":
		grandchild()
	}
	os.Exit(m.Run())
}

// supervisor runs Run on the processes procsEnv gives and exits with the
// status runapp start would.
func supervisor() {
	var procs []Process
	if err := json.Unmarshal([]byte(os.Getenv(procsEnv)), &procs); err != nil {
		panic(err)
	}
	err := Run(procs, Options{Output: os.Stdout, Colour: os.Getenv("COLOUR") != ""})
	var e *ExitError
	switch {
	case errors.As(err, &e):
		os.Exit(e.Code)
	case err != nil:
		fmt.Println("error:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// playChild is a process Run supervises. It prints -lines lines first (through
// a small buffer, so that its writes end mid-line), then "ready PID" once its
// signal handlers are in place; -long prints that many bytes without a
// newline and exits on SIGUSR1; -tick prints a line every 20 ms after. SIGTERM makes
// it exit 0, or only say so with -ignore-term, or nothing with -deaf (whose
// write could fail); SIGUSR1 makes it exit -usr1-exit. -grandchild starts a
// grandchild in its process group first; with -await-grandchild, the child
// stops on SIGTERM only once the grandchild has said it got one too, so that
// the grandchild's line is not lost to the SIGKILL its group gets then.
func playChild(args []string) {
	fs := flag.NewFlagSet("child", flag.ExitOnError)
	name := fs.String("name", "", "")
	lines := fs.Int("lines", 0, "")
	long := fs.Int("long", 0, "")
	ignore := fs.Bool("ignore-term", false, "")
	deaf := fs.Bool("deaf", false, "")
	usr1 := fs.Int("usr1-exit", 0, "")
	grand := fs.Bool("grandchild", false, "")
	tick := fs.Bool("tick", false, "")
	await := fs.Bool("await-grandchild", false, "")
	_ = fs.Parse(args)
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, unix.SIGTERM, unix.SIGUSR1)

	w := bufio.NewWriterSize(os.Stdout, 1000)
	for i := range *lines {
		fmt.Fprintf(w, "%s %d %s\n", *name, i, strings.Repeat("y", i%200))
	}
	if *long > 0 {
		w.WriteString(strings.Repeat("x", *long))
		w.Flush()
		// It exits, its last line unfinished, when told (SIGUSR1): so that
		// the test can let the others finish their lines first.
		for s := range sigs {
			if s == unix.SIGUSR1 {
				os.Exit(0)
			}
		}
	}
	ready := fmt.Sprintf("ready %d", os.Getpid())
	var heard io.Reader
	if *grand {
		var pid int
		pid, heard = startGrandchild()
		ready += fmt.Sprintf(" grandchild %d", pid)
	}
	fmt.Fprintln(w, ready)
	w.Flush()
	if *tick {
		go func() {
			for i := 0; ; i++ {
				fmt.Println("tick", i)
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	for s := range sigs {
		switch {
		case s == unix.SIGUSR1:
			os.Exit(*usr1)
		case *deaf:
		case *ignore:
			fmt.Println("got SIGTERM, ignored")
		default:
			fmt.Println("got SIGTERM")
			if *await {
				_, _ = heard.Read(make([]byte, 1))
			}
			os.Exit(0)
		}
	}
}

// startGrandchild starts a grandchild in the caller's process group and
// returns its pid once its handler is in place (it closes fd 3 then), and
// where it writes a byte each time it has got SIGTERM (fd 4).
func startGrandchild() (int, io.Reader) {
	ready, readyW, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	heard, heardW, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	self, _ := os.Executable()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), roleEnv+"=grandchild")
	cmd.Stdout = os.Stdout
	cmd.ExtraFiles = []*os.File{readyW, heardW}
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	readyW.Close()
	heardW.Close()
	_, _ = io.ReadAll(ready)
	return cmd.Process.Pid, heard
}

// grandchild says when it gets SIGTERM and never stops by itself: only
// SIGKILL ends it.
func grandchild() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGTERM)
	os.NewFile(3, "ready").Close()
	heard := os.NewFile(4, "heard")
	for range sigs {
		fmt.Println("grandchild got SIGTERM")
		_, _ = heard.Write([]byte{1})
	}
}

// helper returns a Process that runs the test binary as a child with args.
func helper(t *testing.T, name string, args ...string) Process {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	return Process{
		Name: name,
		Path: self,
		Argv: append([]string{name, "-name", name}, args...),
		Env:  append(os.Environ(), roleEnv+"=child"),
		Dir:  t.TempDir(),
	}
}

// sup is a supervisor under test, in a process group of its own as a shell
// would start it, so that the test can signal the group as a terminal's
// Ctrl-C does.
type sup struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  []string
	more chan struct{} // a line was added to log
	done chan struct{} // the output ended
}

func startSupervisor(t *testing.T, procs []Process, env ...string) *sup {
	t.Helper()
	data, err := json.Marshal(procs)
	require.NoError(t, err)
	self, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), roleEnv+"=supervisor", procsEnv+"="+string(data))
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	s := &sup{cmd: cmd, more: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			s.mu.Lock()
			s.log = append(s.log, sc.Text())
			s.mu.Unlock()
			select {
			case s.more <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
			_ = cmd.Wait()
		}
	})
	return s
}

// waitTimeout bounds every wait, so that a hang fails the test rather than
// the whole run; no test expects to come near it.
const waitTimeout = 60 * time.Second

// await returns the submatches of the first line of output that re
// matches, waiting for it.
func (s *sup) await(t *testing.T, re string) []string {
	t.Helper()
	r := regexp.MustCompile(re)
	deadline := time.After(waitTimeout)
	for seen := 0; ; {
		s.mu.Lock()
		lines := s.log[seen:]
		s.mu.Unlock()
		for _, line := range lines {
			if m := r.FindStringSubmatch(line); m != nil {
				return m
			}
		}
		seen += len(lines)
		select {
		case <-s.more:
		case <-s.done:
			t.Fatalf("no line matches %q in:\n%s", re, s.output())
		case <-deadline:
			t.Fatalf("no line matches %q in:\n%s", re, s.output())
		}
	}
}

// ready waits for the child name's ready line and returns its pid (and its
// grandchild's, 0 if none).
func (s *sup) ready(t *testing.T, name string) (pid, grandchild int) {
	t.Helper()
	m := s.await(t, `^`+name+` +\| (?:\x1b\[0m)?ready (\d+)(?: grandchild (\d+))?$`)
	pid, _ = strconv.Atoi(m[1])
	grandchild, _ = strconv.Atoi(m[2])
	return pid, grandchild
}

// wait waits for the supervisor to exit and returns its exit status.
func (s *sup) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(waitTimeout):
		t.Fatalf("the supervisor did not exit:\n%s", s.output())
	}
	err := s.cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return s.cmd.ProcessState.ExitCode()
}

func (s *sup) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.log, "\n")
}

// interrupt sends sig to the supervisor's process group, as a terminal
// sends SIGINT on Ctrl-C.
func (s *sup) interrupt(t *testing.T, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, unix.Kill(-s.cmd.Process.Pid, sig))
}

// started returns the pids of the processes the supervisor said it started.
func (s *sup) started() []int {
	var pids []int
	for _, m := range regexp.MustCompile(`(?m)^runapp +\| \S+ started \(pid (\d+)\)$`).FindAllStringSubmatch(s.output(), -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	return pids
}

// assertNoneLeft checks that no process is left in the sessions of pids
// (each started process's session has its pid for id). A process killed
// just now may take a moment to go: it gets that moment, never more than
// waitTimeout.
func assertNoneLeft(t *testing.T, pids []int) {
	t.Helper()
	require.NotEmpty(t, pids)
	deadline := time.Now().Add(waitTimeout)
	for {
		left := inSessions(t, pids)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still running in the sessions of %v: %v", pids, left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inSessions lists the live processes (zombies are not) whose session or
// process group is one of ids, as "pid (comm)".
func inSessions(t *testing.T, ids []int) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	require.NoError(t, err)
	var left []string
	for _, f := range stats {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // gone since
		}
		// pid (comm) state ppid pgrp session ...; comm may hold spaces.
		i := bytes.LastIndexByte(data, ')')
		fields := strings.Fields(string(data[i+1:]))
		if len(fields) < 4 || fields[0] == "Z" {
			continue
		}
		pgrp, _ := strconv.Atoi(fields[2])
		sid, _ := strconv.Atoi(fields[3])
		for _, id := range ids {
			if pgrp == id || sid == id {
				left = append(left, string(data[:i+1]))
			}
		}
	}
	return left
}

// TestOutput: every line of every process comes out whole, prefixed with
// its name, padded so the bars line up, in the order each process wrote
// it, although the processes write at once and their writes end mid-line;
// a line longer than maxLine comes out in pieces, and a last line without a
// newline comes out too.
func TestOutput(t *testing.T) {
	const n = 2000
	long := 3*maxLine + 100
	s := startSupervisor(t, []Process{
		helper(t, "web", "-lines", strconv.Itoa(n)),
		helper(t, "worker-x", "-lines", strconv.Itoa(n), "-long", strconv.Itoa(long)),
	})
	// worker-x exits first, once web has printed its lines and is ready,
	// and worker-x its own (its SIGUSR1 handler is in place before them).
	s.ready(t, "web")
	s.await(t, `^worker-x +\| worker-x `+strconv.Itoa(n-1)+` `)
	x := s.await(t, `^runapp +\| worker-x started \(pid (\d+)\)$`)
	pid, _ := strconv.Atoi(x[1])
	require.NoError(t, unix.Kill(pid, unix.SIGUSR1))
	assert.Equal(t, 0, s.wait(t), "worker-x exited 0 first")

	next := map[string]int{}
	xs := 0
	prefix := regexp.MustCompile(`^(web     |worker-x|runapp  ) \| (.*)$`)
	for _, line := range strings.Split(s.output(), "\n") {
		m := prefix.FindStringSubmatch(line)
		require.NotNil(t, m, "line without a prefix: %.200q", line)
		name, text := strings.TrimSpace(m[1]), m[2]
		switch {
		case name == "runapp", strings.HasPrefix(text, "ready "), text == "got SIGTERM":
		case strings.HasPrefix(text, "xxx"):
			require.Equal(t, "worker-x", name)
			require.Equal(t, strings.Repeat("x", len(text)), text)
			require.LessOrEqual(t, len(text), maxLine)
			xs += len(text)
		default:
			want := fmt.Sprintf("%s %d %s", name, next[name], strings.Repeat("y", next[name]%200))
			require.Equal(t, want, text)
			next[name]++
		}
	}
	assert.Equal(t, n, next["web"])
	assert.Equal(t, n, next["worker-x"])
	assert.Equal(t, long, xs)
	assert.Contains(t, s.output(), "web      | got SIGTERM")
	assertNoneLeft(t, s.started())
}

// TestExitStopsOthers: when one process exits, each other gets its stop
// signal, and the supervisor exits with the status of the first, 128+N for
// a signal as a shell says.
func TestExitStopsOthers(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  syscall.Signal // sent to the worker: USR1 makes it exit 3
		want int
		says string
	}{
		{"status", unix.SIGUSR1, 3, "worker exited with status 3"},
		{"signal", unix.SIGKILL, 128 + 9, "worker was killed by SIGKILL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSupervisor(t, []Process{
				helper(t, "web", "-grandchild", "-await-grandchild"),
				helper(t, "worker", "-usr1-exit", "3"),
			})
			s.ready(t, "web")
			worker, _ := s.ready(t, "worker")
			require.NoError(t, unix.Kill(worker, tc.end))
			assert.Equal(t, tc.want, s.wait(t))
			out := s.output()
			assert.Contains(t, out, "runapp | "+tc.says)
			assert.Regexp(t, `runapp \| sending SIGTERM to web \(process group \d+\)`, out)
			assert.Contains(t, out, "web    | got SIGTERM")
			assert.Contains(t, out, "web    | grandchild got SIGTERM")
			assert.NotContains(t, out, "sending SIGTERM to worker")
			assertNoneLeft(t, s.started())
		})
	}
}

// TestInterrupt: SIGINT to the process group, as Ctrl-C at a terminal sends
// it, or TERM or HUP to the supervisor, stops every process with its stop
// signal: to its whole group, or to its main process alone with MainOnly;
// what is left of a group once its main process exits is killed.
func TestInterrupt(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sig      syscall.Signal
		group    bool // to the process group, as a terminal does
		mainOnly bool
	}{
		{"ctrl-c", unix.SIGINT, true, false},
		{"ctrl-c main only", unix.SIGINT, true, true},
		{"term", unix.SIGTERM, false, false},
		{"hup", unix.SIGHUP, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			worker := helper(t, "worker", "-grandchild")
			worker.MainOnly = tc.mainOnly
			if !tc.mainOnly {
				worker.Argv = append(worker.Argv, "-await-grandchild")
			}
			web := helper(t, "web")
			web.StopSignal = unix.SIGUSR1 // exits 7 on it
			web.Argv = append(web.Argv, "-usr1-exit", "7")
			s := startSupervisor(t, []Process{web, worker})
			s.ready(t, "web")
			_, grandchild := s.ready(t, "worker")
			require.NotZero(t, grandchild)
			if tc.group {
				s.interrupt(t, tc.sig)
			} else {
				require.NoError(t, s.cmd.Process.Signal(tc.sig))
			}
			assert.Equal(t, 128+int(tc.sig), s.wait(t))
			out := s.output()
			name := unix.SignalName(tc.sig)
			assert.Contains(t, out, "runapp | "+name+" received: stopping every process")
			assert.Regexp(t, `runapp \| sending SIGUSR1 to web \(process group \d+\)`, out)
			assert.Contains(t, out, "runapp | web exited with status 7")
			assert.Contains(t, out, "worker | got SIGTERM")
			assert.Contains(t, out, "runapp | worker exited with status 0")
			if tc.mainOnly {
				assert.Regexp(t, `runapp \| sending SIGTERM to worker \(main process \d+\)`, out)
				assert.NotContains(t, out, "grandchild got SIGTERM")
			} else {
				assert.Regexp(t, `runapp \| sending SIGTERM to worker \(process group \d+\)`, out)
				assert.Contains(t, out, "worker | grandchild got SIGTERM")
			}
			assertNoneLeft(t, s.started())
		})
	}
}

// TestStopTimeout: a process that does not stop within its stop timeout
// is killed, its whole group.
func TestStopTimeout(t *testing.T) {
	slow := helper(t, "slow", "-ignore-term", "-grandchild")
	slow.StopTimeout = 100 * time.Millisecond
	s := startSupervisor(t, []Process{helper(t, "web"), slow})
	s.ready(t, "web")
	s.ready(t, "slow")
	s.interrupt(t, unix.SIGINT)
	assert.Equal(t, 130, s.wait(t))
	out := s.output()
	assert.Contains(t, out, "slow   | got SIGTERM, ignored")
	assert.Regexp(t, `runapp \| slow did not stop within 100ms: sending SIGKILL to slow \(process group \d+\)`, out)
	assert.Contains(t, out, "runapp | slow was killed by SIGKILL")
	assert.Contains(t, out, "runapp | web exited with status 0")
	assertNoneLeft(t, s.started())
}

// TestSecondInterrupt: a second Ctrl-C while processes are stopping kills
// them at once, as hivemind does, rather than waiting out a long stop
// timeout.
func TestSecondInterrupt(t *testing.T) {
	slow := helper(t, "slow", "-ignore-term")
	slow.StopTimeout = time.Hour
	s := startSupervisor(t, []Process{helper(t, "web"), slow})
	s.ready(t, "web")
	s.ready(t, "slow")
	s.interrupt(t, unix.SIGINT)
	s.await(t, `^slow +\| got SIGTERM, ignored$`)
	s.interrupt(t, unix.SIGINT)
	assert.Equal(t, 130, s.wait(t))
	out := s.output()
	assert.Contains(t, out, "runapp | SIGINT received again: killing every process")
	assert.Contains(t, out, "runapp | slow was killed by SIGKILL")
	assert.NotContains(t, out, "did not stop within")
	assertNoneLeft(t, s.started())
}

// TestStartFailure: a process that cannot be started stops those started
// before it, and Run says why.
func TestStartFailure(t *testing.T) {
	missing := helper(t, "worker")
	missing.Path = filepath.Join(t.TempDir(), "no-such-program")
	var out bytes.Buffer
	err := Run([]Process{helper(t, "web"), missing, helper(t, "never")}, Options{Output: &out})
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, "cannot start worker: ")
	assert.Contains(t, out.String(), "runapp | sending SIGTERM to web")
	assert.NotContains(t, out.String(), "never")
}

// TestColour: on a terminal each prefix takes its colour from the
// process's Colour, foreman's palette in its order; runapp's own are bold.
func TestColour(t *testing.T) {
	web := helper(t, "web", "-usr1-exit", "0")
	web.Colour = 0
	worker := helper(t, "worker")
	worker.Colour = len(palette) + 1 // wraps round to the second colour
	s := startSupervisor(t, []Process{web, worker}, "COLOUR=1")
	pid, _ := s.ready(t, "\x1b\\[36mweb   ")
	s.ready(t, "\x1b\\[33mworker")
	require.NoError(t, unix.Kill(pid, unix.SIGUSR1))
	assert.Equal(t, 0, s.wait(t))
	out := s.output()
	assert.Contains(t, out, "\x1b[36mweb    | \x1b[0mready ")
	assert.Contains(t, out, "\x1b[33mworker | \x1b[0mgot SIGTERM")
	assert.Contains(t, out, "\x1b[1mrunapp | \x1b[0mweb exited with status 0")
}

// TestClosedOutput: when runapp's output closes (runapp start | head), the
// processes are stopped as on Ctrl-C, rather than runapp dying of SIGPIPE
// and leaving behind one that ignores its stop signal.
func TestClosedOutput(t *testing.T) {
	slow := helper(t, "slow", "-deaf")
	slow.StopTimeout = 100 * time.Millisecond
	data, err := json.Marshal([]Process{helper(t, "web", "-tick"), slow})
	require.NoError(t, err)
	self, err := os.Executable()
	require.NoError(t, err)
	r, w, err := os.Pipe()
	require.NoError(t, err)
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), roleEnv+"=supervisor", procsEnv+"="+string(data))
	cmd.Stdout = w
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	w.Close()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})

	var out []string
	sc := bufio.NewScanner(r)
	for ready := 0; ready < 2 && sc.Scan(); {
		out = append(out, sc.Text())
		if strings.Contains(sc.Text(), "| ready ") {
			ready++
		}
	}
	require.NoError(t, r.Close())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatal("the supervisor did not exit")
	}
	assert.Equal(t, 128+int(unix.SIGPIPE), cmd.ProcessState.ExitCode(), "stopped on SIGPIPE, not killed by it")
	var pids []int
	for _, m := range regexp.MustCompile(`(?m)^runapp +\| \S+ started \(pid (\d+)\)$`).FindAllStringSubmatch(strings.Join(out, "\n"), -1) {
		pid, _ := strconv.Atoi(m[1])
		pids = append(pids, pid)
	}
	require.Len(t, pids, 2, "%s", out)
	assertNoneLeft(t, pids)
}

// BenchmarkOutput measures the prefixing of one process's output: lines of
// 100 bytes, read in the pieces a pipe gives, written whole.
func BenchmarkOutput(b *testing.B) {
	line := strings.Repeat("x", 99) + "\n"
	data := []byte(strings.Repeat(line, 10000))
	p := &Process{Name: "worker"}
	pr := newPrinter(Options{Output: io.Discard, Colour: true}, []Process{*p, {Name: "web"}})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		pr.copy(p, bytes.NewReader(data))
	}
}
