// Package supervise runs several programs side by side for local
// development, as foreman, honcho and hivemind do: each in a session and
// process group of its own, its output prefixed with its name, and all of
// them stopped when one exits or when runapp is told to stop.
//
// It is the one place runapp stays a parent, so the only one with signal
// handlers and goroutines of its own. Nothing of it runs before Run is
// called: serve and exec, which never call it, pay nothing for it.
package supervise

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultStopTimeout is how long a process may take to stop when its
// Process says nothing: foreman's and honcho's 5 seconds.
const DefaultStopTimeout = 5 * time.Second

// Process is one program to run, as its plan says.
type Process struct {
	Name string   // the prefix of its output lines
	Path string   // the program to execve
	Argv []string // argv, argv[0] included
	Env  []string // the whole environment, "NAME=value"
	Dir  string   // working directory
	// StopSignal asks the process to stop; 0 means SIGTERM.
	StopSignal syscall.Signal
	// MainOnly sends StopSignal to the main process alone rather than to
	// its whole process group, for a program whose children must hear it
	// from their parent (celery: TERM to a pool child loses its task). As
	// systemd's KillMode=mixed, SIGKILL still goes to the whole group.
	MainOnly bool
	// StopTimeout is how long the process may take to stop before its
	// group is killed; 0 means DefaultStopTimeout.
	StopTimeout time.Duration
	// Colour picks the colour of its prefix. The caller passes the
	// process type's place in the Procfile, so a name keeps its colour
	// whichever processes run.
	Colour int
}

// Options says where the output goes and how it looks.
type Options struct {
	Output io.Writer // every line of every process, prefixed; runapp's own lines too
	Colour bool      // colour the prefixes (a terminal)
}

// ExitError says why Run stopped the processes, with the exit status runapp
// takes from it.
type ExitError struct {
	// Name is the process whose exit stopped the others; "" when a
	// signal to runapp did.
	Name string
	// Signal is the signal that killed the process Name, or the one
	// runapp got; 0 when the process exited.
	Signal syscall.Signal
	// Code is the exit status, 128+Signal for a signal, as a shell says.
	Code int
}

func (e *ExitError) Error() string {
	switch {
	case e.Name == "":
		return fmt.Sprintf("stopped on %s", unix.SignalName(e.Signal))
	case e.Signal != 0:
		return fmt.Sprintf("%s was killed by %s", e.Name, unix.SignalName(e.Signal))
	}
	return fmt.Sprintf("%s exited with status %d", e.Name, e.Code)
}

// Run starts every process and waits until all have stopped. It stops them
// all when the first one exits, and when runapp gets SIGINT (Ctrl-C), SIGTERM
// or SIGHUP: each gets its StopSignal, then SIGKILL to its process group
// after its StopTimeout; the same signal again kills them all at once, as
// hivemind does. Once a process has exited, what is left of its process
// group is killed. When the output is a pipe that closes (runapp start |
// head), they are stopped too, as on Ctrl-C, and their output is dropped.
//
// Run returns nil when the first process to exit did so with status 0; an
// *ExitError when it exited otherwise or a signal stopped runapp; another
// error when a process could not be started (those started are stopped
// first).
func Run(procs []Process, opts Options) error {
	if len(procs) == 0 {
		return errors.New("no process to start")
	}
	out := newPrinter(opts, procs)
	// Before the first start, so that a Ctrl-C at any time stops what
	// runs rather than killing runapp and leaving its children behind.
	// SIGPIPE too: unless told, the Go runtime lets a write to a closed
	// stdout kill runapp, leaving behind a process that ignores its stop
	// signal; told, the write fails with EPIPE.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGPIPE)
	defer signal.Stop(sigs)

	exits := make(chan *child, len(procs))
	var children []*child
	var result error
	for i := range procs {
		c, err := start(&procs[i], out, exits)
		if err != nil {
			result = fmt.Errorf("cannot start %s: %w", procs[i].Name, err)
			break
		}
		out.system("%s started (pid %d)", c.Name, c.pid)
		children = append(children, c)
	}

	stopping := false
	stopAll := func() {
		stopping = true
		for _, c := range children {
			c.stop(out)
		}
	}
	if result != nil {
		stopAll()
	}
	for running := len(children); running > 0; {
		select {
		case c := <-exits:
			running--
			err := c.exitError()
			if err == nil {
				out.system("%s exited with status 0", c.Name)
			} else {
				out.system("%v", err)
			}
			if !stopping {
				result = err
				stopAll()
			}
		case s := <-sigs:
			sig := s.(syscall.Signal)
			// Once stopping, a SIGPIPE changes nothing: the
			// output is gone, and no reason to hurry.
			if sig == unix.SIGPIPE && stopping {
				continue
			}
			if stopping {
				out.system("%s received again: killing every process", unix.SignalName(sig))
				for _, c := range children {
					c.kill(out, "")
				}
				continue
			}
			out.system("%s received: stopping every process", unix.SignalName(sig))
			result = &ExitError{Signal: sig, Code: 128 + int(sig)}
			stopAll()
		}
	}
	return result
}

// child is a started Process.
type child struct {
	*Process
	cmd *exec.Cmd
	pid int // also its process group's and session's id
	// output is closed once its output is all printed.
	output chan struct{}
	// pipe is the read end of its output, for a deadline when a process
	// outside its group keeps the write end open.
	pipe *os.File

	mu       sync.Mutex
	exited   bool // its main process has exited: signal its group no more
	stopping bool
	timer    *time.Timer
	status   syscall.WaitStatus
}

// start starts p in a new session, so that its process group is its own:
// Ctrl-C at the terminal reaches runapp alone, which stops each process its
// own way, and the group can be killed whole.
func start(p *Process, out *printer, exits chan<- *child) (*child, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	sig := p.stopSignal()
	cmd := &exec.Cmd{
		Path:   p.Path,
		Args:   p.Argv,
		Env:    p.Env,
		Dir:    p.Dir,
		Stdout: w, // one pipe for both keeps their lines in order
		Stderr: w,
		SysProcAttr: &syscall.SysProcAttr{
			Setsid: true,
			// Should runapp itself be killed, each process is still
			// asked to stop. (Tied to the forking thread, which the Go
			// runtime keeps: runapp locks no goroutine to a thread.)
			Pdeathsig: sig,
		},
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		return nil, err
	}
	c := &child{Process: p, cmd: cmd, pid: cmd.Process.Pid, output: make(chan struct{}), pipe: r}
	go func() {
		defer close(c.output)
		out.copy(p, r)
	}()
	go c.wait(out, exits)
	return c, nil
}

func (p *Process) stopSignal() syscall.Signal {
	if p.StopSignal == 0 {
		return unix.SIGTERM
	}
	return p.StopSignal
}

func (p *Process) stopTimeout() time.Duration {
	if p.StopTimeout == 0 {
		return DefaultStopTimeout
	}
	return p.StopTimeout
}

// outputGrace is how long a process's output may stay open after its group
// is gone: only a process that left the group (a daemon's double fork) can
// hold it.
const outputGrace = 2 * time.Second

// wait waits for c's main process to exit, kills what is left of its group
// and sends c on exits once its output is printed. The exit is waited for
// without reaping, so that the group's id cannot be reused by another
// process before the group is killed.
func (c *child) wait(out *printer, exits chan<- *child) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, c.pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	c.mu.Lock()
	c.exited = true
	if c.timer != nil {
		c.timer.Stop()
	}
	_ = unix.Kill(-c.pid, unix.SIGKILL) // ESRCH: nothing was left
	c.mu.Unlock()
	_ = c.cmd.Wait() // the status is in ProcessState
	c.mu.Lock()
	c.status = c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	c.mu.Unlock()
	select {
	case <-c.output:
	case <-time.After(outputGrace):
		out.system("%s: its output is still open, held by a process that left its process group; no longer reading it", c.Name)
		_ = c.pipe.SetReadDeadline(time.Now())
		<-c.output
	}
	c.pipe.Close()
	exits <- c
}

// exitError returns nil for an exit with status 0, else the *ExitError that
// describes how c ended.
func (c *child) exitError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.status.Signaled():
		sig := c.status.Signal()
		return &ExitError{Name: c.Name, Signal: sig, Code: 128 + int(sig)}
	case c.status.ExitStatus() != 0:
		return &ExitError{Name: c.Name, Code: c.status.ExitStatus()}
	}
	return nil
}

// stop sends c its stop signal, once, and kills its group after its stop
// timeout.
func (c *child) stop(out *printer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exited || c.stopping {
		return
	}
	c.stopping = true
	sig := c.stopSignal()
	target, whom := -c.pid, "process group"
	if c.MainOnly {
		target, whom = c.pid, "main process"
	}
	out.system("sending %s to %s (%s %d)", unix.SignalName(sig), c.Name, whom, c.pid)
	_ = unix.Kill(target, sig)
	timeout := c.stopTimeout()
	c.timer = time.AfterFunc(timeout, func() {
		c.kill(out, fmt.Sprintf("%s did not stop within %v: ", c.Name, timeout))
	})
}

// kill sends SIGKILL to c's process group unless its main process has
// exited (then wait has killed the group already).
func (c *child) kill(out *printer, why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exited {
		return
	}
	out.system("%ssending SIGKILL to %s (process group %d)", why, c.Name, c.pid)
	_ = unix.Kill(-c.pid, unix.SIGKILL)
}
