#include "textflag.h"

// func execveMasked(path *byte, argv, envp **byte, mask *uint64) (errno uintptr)
//
// The arm64 twin of exec_linux_amd64.s. Raw system calls with no Go code in
// between: the goroutine can be neither preempted nor moved to another
// thread after its mask is set.
TEXT ·execveMasked(SB),NOSPLIT,$8-40
	// rt_sigprocmask(SIG_SETMASK, mask, &old, 8)
	MOVD	$135, R8
	MOVD	$2, R0
	MOVD	mask+24(FP), R1
	MOVD	$old-8(SP), R2
	MOVD	$8, R3
	SVC

	// execve(path, argv, envp)
	MOVD	$221, R8
	MOVD	path+0(FP), R0
	MOVD	argv+8(FP), R1
	MOVD	envp+16(FP), R2
	SVC
	NEG	R0, R0
	MOVD	R0, errno+32(FP)

	// It failed: rt_sigprocmask(SIG_SETMASK, &old, NULL, 8)
	MOVD	$135, R8
	MOVD	$2, R0
	MOVD	$old-8(SP), R1
	MOVD	$0, R2
	MOVD	$8, R3
	SVC
	RET
