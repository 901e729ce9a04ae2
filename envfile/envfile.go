// Package envfile reads .env files in the subset of syntax that bash's
// `set -a; source FILE`, systemd's EnvironmentFile=, python-dotenv and
// docker compose read identically, and refuses everything else with the
// file, the line, a reason naming the reader that differs, and a fix.
package envfile

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"golang.org/x/sys/unix"
)

// Entry is one assignment, in file order.
type Entry struct {
	Name  string
	Value string
	Line  int // line the assignment starts on, counting from 1
}

// File is a parsed env file.
type File struct {
	Path    string
	Entries []Entry
}

// Problem is one refused construct.
type Problem struct {
	Path string
	Line int
	Name string // the variable concerned, when known; never its value
	Msg  string // what is wrong; how to write it instead
}

func (p Problem) Error() string {
	if p.Name != "" {
		return fmt.Sprintf("%s:%d: %s: %s", p.Path, p.Line, p.Name, p.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", p.Path, p.Line, p.Msg)
}

// Error lists every refused line of a file, in line order.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Read reads and parses the file at path. An I/O error is returned wrapped
// with the path, so errors.Is(err, fs.ErrNotExist) works; a file with
// refused constructs returns *Error.
func Read(path string) (*File, error) {
	data, err := ReadBytes(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read env file: %w", err)
	}
	return parse(path, data, string(data))
}

// MaxSize is the largest env file runapp reads: 4 MiB, twice what Linux
// passes to a program in all (a quarter of the default 8 MiB stack limit),
// so that any file whose variables could be passed at all fits, comments
// and all, while a mistaken path (a log, a disk image) cannot fill memory.
const MaxSize = 4 << 20

// ErrNotRegular and ErrTooLarge are the reading limits: a FIFO, a device or
// a directory is refused without blocking on it, and a file larger than
// MaxSize without reading it all.
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrTooLarge   = fmt.Errorf("larger than %d MiB, the most runapp reads", MaxSize>>20)
)

// ReadBytes reads the file at path within the reading limits: the bytes
// Read parses. fmt and check read env files with it too.
func ReadBytes(path string) ([]byte, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return data, nil
}

// readFile reads a whole file with plain system calls. os.ReadFile would do,
// but its first use sets up the runtime's network poller (an epoll instance,
// an eventfd, a thread), which is a measurable part of runapp's launch cost
// and of no use for one regular file read before an exec.
func readFile(path string) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO must not wait for a writer; for a
	// regular file it changes nothing.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		return nil, fmt.Errorf("%w: a directory", ErrNotRegular)
	case unix.S_IFIFO:
		return nil, fmt.Errorf("%w: a FIFO", ErrNotRegular)
	case unix.S_IFCHR, unix.S_IFBLK:
		return nil, fmt.Errorf("%w: a device", ErrNotRegular)
	default:
		return nil, ErrNotRegular
	}
	if st.Size > MaxSize {
		return nil, ErrTooLarge
	}
	data := make([]byte, 0, st.Size+1)
	for {
		n, err := unix.Read(fd, data[len(data):cap(data)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return data, nil
		}
		data = data[:len(data)+n]
		if len(data) > MaxSize {
			return nil, ErrTooLarge // it grew while read
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)] // grow: the file is longer than it was
		}
	}
}

// Parse parses data, naming it path in problems. It returns *Error listing
// every refused line when the file is not accepted; it never returns a
// partial File.
func Parse(path string, data []byte) (*File, error) {
	return parse(path, data, string(data))
}

// parse parses data, which text holds too.
func parse(path string, data []byte, text string) (*File, error) {
	entries, problems := scan(data, text)
	if len(problems) > 0 {
		for i := range problems {
			problems[i].Path = path
		}
		return nil, &Error{Problems: problems}
	}
	return &File{Path: path, Entries: entries}, nil
}

// AsError returns the *Error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
