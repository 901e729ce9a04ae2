package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// notifySocket is a NOTIFY_SOCKET as systemd makes one: a unixgram socket
// that receives the sender's credentials with each datagram (SO_PASSCRED).
type notifySocket struct {
	addr string
	conn *net.UnixConn
}

// listenNotify binds addr: a path, or '@' and a name for an abstract socket.
// It is made with net, not x/sys, so the '@' mapping is checked against an
// independent one.
func listenNotify(t *testing.T, addr string) *notifySocket {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	raw, err := conn.SyscallConn()
	require.NoError(t, err)
	var sockErr error
	require.NoError(t, raw.Control(func(fd uintptr) {
		sockErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}))
	require.NoError(t, sockErr)
	return &notifySocket{addr: addr, conn: conn}
}

// notification is one datagram and the PID of the process that sent it.
type notification struct {
	msg string
	pid int
}

// receive returns the next datagram, or ok false after timeout.
func (s *notifySocket) receive(t *testing.T, timeout time.Duration) (_ notification, ok bool) {
	t.Helper()
	require.NoError(t, s.conn.SetReadDeadline(time.Now().Add(timeout)))
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	n, noob, flags, _, err := s.conn.ReadMsgUnix(buf, oob)
	if os.IsTimeout(err) {
		return notification{}, false
	}
	require.NoError(t, err)
	require.Zero(t, flags&unix.MSG_TRUNC, "datagram truncated")
	msgs, err := unix.ParseSocketControlMessage(oob[:noob])
	require.NoError(t, err)
	require.Len(t, msgs, 1, "credentials")
	cred, err := unix.ParseUnixCredentials(&msgs[0])
	require.NoError(t, err)
	return notification{msg: string(buf[:n]), pid: int(cred.Pid)}, true
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(entries)
}

// TestNotifyMatchesSdNotify: notify sends what daemon.SdNotify(false, ...)
// sends, byte for byte, from this process, to a path socket and to an
// abstract one, and leaves NOTIFY_SOCKET set.
func TestNotifyMatchesSdNotify(t *testing.T) {
	sockets := []struct {
		name string
		addr func(t *testing.T) string
	}{
		{"path", func(t *testing.T) string { return filepath.Join(t.TempDir(), "notify") }},
		{"abstract", func(t *testing.T) string { return fmt.Sprintf("@runapp-test/%d/%s", os.Getpid(), t.Name()) }},
	}
	messages := []struct {
		name, msg string
	}{
		{"status", "STATUS=runapp: /srv/app/.env:2: B: \"`\" outside single quotes"},
		{"several lines", "STATUS=runapp: failed (and 2 more, see the journal)\nERRNO=2\n"},
		{"utf-8 and NUL", "STATUS=caf\u00e9 \x00 \xff"},
		{"long", "STATUS=" + strings.Repeat("x", 16<<10)},
		{"empty", ""},
	}
	for _, s := range sockets {
		for _, m := range messages {
			t.Run(s.name+"/"+m.name, func(t *testing.T) {
				sock := listenNotify(t, s.addr(t))
				t.Setenv("NOTIFY_SOCKET", sock.addr)

				fds := openFDs(t)
				require.NoError(t, notify(m.msg))
				assert.Equal(t, fds, openFDs(t), "socket left open")
				got, ok := sock.receive(t, 5*time.Second)
				require.True(t, ok, "notify sent nothing")

				sent, err := daemon.SdNotify(false, m.msg)
				require.NoError(t, err)
				require.True(t, sent)
				want, ok := sock.receive(t, 5*time.Second)
				require.True(t, ok, "daemon.SdNotify sent nothing")

				assert.Equal(t, []byte(want.msg), []byte(got.msg))
				assert.Equal(t, os.Getpid(), got.pid)
				assert.Equal(t, want.pid, got.pid)
				assert.Equal(t, sock.addr, os.Getenv("NOTIFY_SOCKET"), "NOTIFY_SOCKET unset")
				_, more := sock.receive(t, 50*time.Millisecond)
				assert.False(t, more, "more than one datagram")
			})
		}
	}
}

// TestNotifyWithoutSocket: with NOTIFY_SOCKET unset or empty notify opens no
// socket and returns nil, as daemon.SdNotify reports "not supported".
func TestNotifyWithoutSocket(t *testing.T) {
	for _, tt := range []struct {
		name  string
		unset bool
	}{
		{"unset", true},
		{"empty", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NOTIFY_SOCKET", "")
			if tt.unset {
				require.NoError(t, os.Unsetenv("NOTIFY_SOCKET"))
			}
			fds := openFDs(t)
			assert.NoError(t, notify("STATUS=x"))
			assert.Equal(t, fds, openFDs(t), "a socket was opened")

			sent, err := daemon.SdNotify(false, "STATUS=x")
			assert.NoError(t, err)
			assert.False(t, sent)
		})
	}
}

// TestNotifyErrors: a NOTIFY_SOCKET no datagram can reach is an error, as it
// is for daemon.SdNotify, and the socket is closed all the same.
func TestNotifyErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	for _, tt := range []struct {
		name  string
		addr  string
		errno unix.Errno
	}{
		{"missing path", filepath.Join(dir, "missing"), unix.ENOENT},
		{"not a socket", file, unix.ECONNREFUSED},
		{"missing abstract", fmt.Sprintf("@runapp-test/%d/missing", os.Getpid()), unix.ECONNREFUSED},
		{"too long", "/" + strings.Repeat("x", 200), unix.EINVAL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NOTIFY_SOCKET", tt.addr)
			fds := openFDs(t)
			err := notify("STATUS=x")
			assert.ErrorIs(t, err, tt.errno)
			assert.Equal(t, fds, openFDs(t), "socket left open")

			sent, err := daemon.SdNotify(false, "STATUS=x")
			assert.Error(t, err, "reference")
			assert.False(t, sent)
		})
	}
}
