package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// notifySocket is a test NOTIFY_SOCKET: a unixgram socket that learns the
// sender's PID of every datagram (SO_PASSCRED), as systemd's does.
type notifySocket struct {
	path string
	conn *net.UnixConn
}

func listenNotify(path string) (*notifySocket, error) {
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}); err != nil || serr != nil {
		conn.Close()
		return nil, errors.Join(err, serr)
	}
	return &notifySocket{path: path, conn: conn}, nil
}

// waitReady returns when pid has sent READY=1, or fails at the deadline.
// Datagrams from other PIDs (a server of an earlier run still stopping) are
// ignored.
func (s *notifySocket) waitReady(pid int, deadline time.Time) error {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	if err := s.conn.SetReadDeadline(deadline); err != nil {
		return err
	}
	for {
		n, oobn, _, _, err := s.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return fmt.Errorf("no READY=1 from PID %d: %w", pid, err)
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) == 0 {
			continue
		}
		cred, err := unix.ParseUnixCredentials(&msgs[0])
		if err != nil || int(cred.Pid) != pid {
			continue
		}
		for _, line := range bytes.Split(buf[:n], []byte("\n")) {
			if string(line) == "READY=1" {
				return nil
			}
		}
	}
}

// startToReady starts l (a server) in dir and returns the time until its
// process sent READY=1, and what /proc shows then about the processes this
// harness has under it. It stops the server before returning.
func startToReady(l launcher, dir string, env []string, sock *notifySocket, logPath string) (time.Duration, procCheck, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return 0, procCheck{}, err
	}
	defer log.Close()
	attr := &os.ProcAttr{Dir: dir, Env: env, Files: []*os.File{nil, log, log}}
	start := time.Now()
	p, err := os.StartProcess(l.argv[0], l.argv, attr)
	if err != nil {
		return 0, procCheck{}, err
	}
	exited := make(chan error, 1)
	go func() {
		st, err := p.Wait()
		if err == nil {
			err = fmt.Errorf("%s exited before READY=1: %v; see %s", l.name, st, logPath)
		}
		// Wake waitReady up at once instead of at its deadline; before the
		// send, so that it cannot cut the next start's wait short.
		_ = sock.conn.SetReadDeadline(time.Now())
		exited <- err
	}()
	if err := sock.waitReady(p.Pid, time.Now().Add(60*time.Second)); err != nil {
		_ = p.Kill()
		return 0, procCheck{}, fmt.Errorf("%s: %w (%v); see %s", l.name, err, <-exited, logPath)
	}
	d := time.Since(start)
	check := inspect(p.Pid)
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = p.Kill()
		<-exited
	}
	return d, check, nil
}

// procCheck is what runs under the harness once the server is ready.
type procCheck struct {
	pid      int
	cmdline  string // of the started PID
	launcher []int  // PIDs under the harness still running runapp or bash
}

// inspect looks at the started PID and at every process descending from
// this harness: none may still be runapp or bash once the server is ready.
func inspect(pid int) procCheck {
	c := procCheck{pid: pid}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		c.cmdline = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	}
	for _, d := range descendants(os.Getpid()) {
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", d))
		if base := filepath.Base(exe); base == "runapp" || base == "bash" {
			c.launcher = append(c.launcher, d)
		}
	}
	return c
}

// descendants lists the processes under root, from the parent PIDs in
// /proc/*/stat.
func descendants(root int) []int {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		// The command name in parentheses may hold anything: the fields
		// start after its last ")".
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], pid)
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}
