package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/internal/testenv"
)

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
				sock := testenv.ListenNotify(t, s.addr(t))
				t.Setenv("NOTIFY_SOCKET", sock.Addr)

				fds := openFDs(t)
				require.NoError(t, notify(m.msg))
				assert.Equal(t, fds, openFDs(t), "socket left open")
				got, ok := sock.Receive(t, 5*time.Second)
				require.True(t, ok, "notify sent nothing")

				sent, err := daemon.SdNotify(false, m.msg)
				require.NoError(t, err)
				require.True(t, sent)
				want, ok := sock.Receive(t, 5*time.Second)
				require.True(t, ok, "daemon.SdNotify sent nothing")

				assert.Equal(t, []byte(want.Msg), []byte(got.Msg))
				assert.Equal(t, os.Getpid(), got.PID)
				assert.Equal(t, want.PID, got.PID)
				assert.Equal(t, sock.Addr, os.Getenv("NOTIFY_SOCKET"), "NOTIFY_SOCKET unset")
				_, more := sock.Receive(t, 50*time.Millisecond)
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
