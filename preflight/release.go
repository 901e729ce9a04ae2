package preflight

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
)

// JournalSocket is journald's native socket; a variable for tests.
var JournalSocket = "/run/systemd/journal/socket"

// Release runs argv, a Transient command that runs the release command,
// and copies what it writes, line by line, to w and to the journal as
// unit's: journalctl -u UNIT shows it beside the service's own lines
// (OBJECT_SYSTEMD_UNIT=, which journalctl -u matches in entries a root
// process logs), under the identifier ident. The error is the command's:
// an *exec.ExitError for a release that exited non-zero.
func Release(ctx context.Context, argv []string, unit, ident string, w io.Writer) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	r, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return err
	}
	j := openJournal()
	if j != nil {
		defer j.Close()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			fmt.Fprintf(w, "%s\n", sc.Text())
			if j != nil {
				j.send(unit, ident, sc.Text())
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	err := cmd.Wait()
	pw.Close()
	<-done
	return err
}

// journal is a connection to journald's native socket.
type journal struct{ *net.UnixConn }

// openJournal connects to the journal, nil when there is none to write to
// (the lines still go to the terminal).
func openJournal() *journal {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: JournalSocket, Net: "unixgram"})
	if err != nil {
		return nil
	}
	return &journal{c}
}

// send logs one line at priority info. A line holds no newline, so the
// simple form of the protocol (FIELD=value lines) does.
func (j *journal) send(unit, ident, line string) {
	line = strings.ToValidUTF8(line, "\uFFFD")
	_, _ = j.Write([]byte("PRIORITY=6\nSYSLOG_IDENTIFIER=" + ident + "\nOBJECT_SYSTEMD_UNIT=" + unit + "\nMESSAGE=" + line + "\n"))
}
