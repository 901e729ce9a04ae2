//go:build linux && (amd64 || arm64)

package startsig

import (
	"runtime"
	"syscall"
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

// Exec replaces the process with argv0, as unix.Exec does, after putting back
// the ignored signals, the signal mask and the open-file limit recorded at
// start. It returns only on failure; the process should then exit, as the
// ignored signals stay ignored.
//
// Without a recording (a plain go build, go test) it is unix.Exec.
func Exec(argv0 string, argv, envv []string) error {
	if !Captured() {
		return unix.Exec(argv0, argv, envv)
	}
	path, err := unix.BytePtrFromString(argv0)
	if err != nil {
		return err
	}
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return err
	}
	envp, err := syscall.SlicePtrFromStrings(envv)
	if err != nil {
		return err
	}
	// Dispositions and limits are the process's: any thread may set them.
	ign := sigaction{handler: 1} // SIG_IGN
	for sig := 1; sig <= 64; sig++ {
		if ignored&(1<<(sig-1)) != 0 {
			// Errors are for SIGKILL and SIGSTOP, which can't have been ignored.
			unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&ign)), 0, 8, 0, 0)
		}
	}
	if nofileOK == 1 {
		// What syscall.Exec does for the limit package syscall raised.
		lim := unix.Rlimit{Cur: nofile[0], Max: nofile[1]}
		unix.Prlimit(0, unix.RLIMIT_NOFILE, &lim, nil)
	}
	// The mask is the thread's: execveMasked sets it and execs in one
	// assembly function, which the scheduler cannot preempt or move to
	// another thread in between. runtime.LockOSThread would do too, but it
	// starts the runtime's template thread, which execve must then kill:
	// 0.15 ms on every launch.
	mask := blocked
	errno := execveMasked(path, &argvp[0], &envp[0], &mask)
	runtime.KeepAlive(argvp)
	runtime.KeepAlive(envp)
	return unix.Errno(errno)
}

// execveMasked sets the calling thread's signal mask to *mask and calls
// execve(path, argv, envp). If execve fails it puts the previous mask back
// and returns the error number.
func execveMasked(path *byte, argv, envp **byte, mask *uint64) (errno uintptr)
