package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// notify sends state in one datagram to the socket NOTIFY_SOCKET names, as
// daemon.SdNotify(false, state) does: nothing is sent and nil returned when
// the variable is unset or empty, and the variable is left set. A leading
// '@' names an abstract socket (unix.SockaddrUnix maps it to NUL).
//
// Not daemon.SdNotify: that links in net, which costs start-up time and
// resident memory on every launch (measured in issue 6).
func notify(state string) error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot notify %s: %w", addr, err)
	}
	defer unix.Close(fd)
	if err := unix.Sendto(fd, []byte(state), 0, &unix.SockaddrUnix{Name: addr}); err != nil {
		return fmt.Errorf("cannot notify %s: %w", addr, err)
	}
	return nil
}
