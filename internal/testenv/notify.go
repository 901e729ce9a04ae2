package testenv

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// NotifySocket is a NOTIFY_SOCKET as systemd makes one: a unixgram socket
// that receives the sender's credentials with each datagram.
type NotifySocket struct {
	Addr string // as NOTIFY_SOCKET names it
	conn *net.UnixConn
}

// ListenNotify binds addr, a path or '@' and a name for an abstract socket,
// until the test ends. It is made with net, not x/sys, so that runapp's own
// sender is checked against an independent address mapping.
func ListenNotify(t testing.TB, addr string) *NotifySocket {
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
	return &NotifySocket{Addr: addr, conn: conn}
}

// Notification is one datagram and the PID of the process that sent it.
type Notification struct {
	Msg string
	PID int
}

// Receive returns the next datagram, or ok false after timeout.
func (s *NotifySocket) Receive(t testing.TB, timeout time.Duration) (_ Notification, ok bool) {
	t.Helper()
	require.NoError(t, s.conn.SetReadDeadline(time.Now().Add(timeout)))
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	n, noob, flags, _, err := s.conn.ReadMsgUnix(buf, oob)
	if os.IsTimeout(err) {
		return Notification{}, false
	}
	require.NoError(t, err)
	require.Zero(t, flags&unix.MSG_TRUNC, "datagram truncated")
	msgs, err := unix.ParseSocketControlMessage(oob[:noob])
	require.NoError(t, err)
	require.Len(t, msgs, 1, "credentials")
	cred, err := unix.ParseUnixCredentials(&msgs[0])
	require.NoError(t, err)
	return Notification{Msg: string(buf[:n]), PID: int(cred.Pid)}, true
}
