package startsig

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sigaction is the kernel's struct sigaction on Linux.
type sigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// Restore sets the calling thread's signal mask and the ignored signals back
// to what they were at start, and locks the goroutine to the thread, so the
// execve that must follow at once runs with them. It does nothing when the
// state was not captured.
func Restore() {
	if !Captured() {
		return
	}
	runtime.LockOSThread()
	ign := sigaction{handler: 1} // SIG_IGN
	for sig := 1; sig <= 64; sig++ {
		if ignored&(1<<(sig-1)) != 0 {
			// Errors are for SIGKILL and SIGSTOP, which can't have been ignored.
			unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&ign)), 0, 8, 0, 0)
		}
	}
	mask := blocked
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&mask)), 0, 8, 0, 0)
}
