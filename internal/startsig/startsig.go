// Package startsig keeps the signal state and open-file limit runapp was
// started with, so the program it execs starts with them too.
//
// The Go runtime changes that state before any Go code runs: it installs
// handlers over inherited SIG_IGN dispositions (systemd's IgnoreSIGPIPE=yes,
// nohup's SIGHUP) and unblocks the signals it needs, and package syscall
// raises the soft RLIMIT_NOFILE. execve then resets the handled signals to
// SIG_DFL, so without this package gunicorn would not start with the SigIgn
// and SigBlk that `exec` in a bash script gives it. An assembly entry point,
// named with the linker flag EntryFlag, records the state before the runtime
// starts; Exec puts it back and execs.
package startsig

// EntryFlag is the -ldflags argument that makes the recording entry point the
// program's: go build -ldflags "$(EntryFlag)". Only where Supported: on other
// platforms the symbol does not exist and the link fails. The Makefile passes
// it when internal/startsig/entry_GOOS_GOARCH.s exists.
const EntryFlag = "-E github.com/runapp/runapp/internal/startsig.entry"

// Written by entry before the runtime starts, read-only afterwards.
var (
	captured uint32    // 1 once entry ran
	blocked  uint64    // the signal mask, bit n-1 for signal n
	ignored  uint64    // signals whose disposition was SIG_IGN
	nofile   [2]uint64 // RLIMIT_NOFILE: soft, hard
	nofileOK uint32    // 1 if nofile was read
)

// act is entry's buffer for rt_sigaction's old action: a struct sigaction.
//
//lint:ignore U1000 used from assembly
var act [4]uint64

// Captured reports whether the start state was recorded: false when the
// binary was built without EntryFlag (e.g. by go test), or on a platform
// without an entry point here.
func Captured() bool { return captured == 1 }

// Supported reports whether this platform has an entry point, so that a build
// with EntryFlag records the start state.
func Supported() bool { return hasEntry }
