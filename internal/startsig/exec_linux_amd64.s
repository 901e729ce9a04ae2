#include "textflag.h"

// func execveMasked(path *byte, argv, envp **byte, mask *uint64) (errno uintptr)
//
// Raw system calls with no Go code in between: the goroutine can be neither
// preempted nor moved to another thread after its mask is set.
TEXT ·execveMasked(SB),NOSPLIT,$8-40
	// rt_sigprocmask(SIG_SETMASK, mask, &old, 8)
	MOVQ	$14, AX
	MOVQ	$2, DI
	MOVQ	mask+24(FP), SI
	LEAQ	old-8(SP), DX
	MOVQ	$8, R10
	SYSCALL

	// execve(path, argv, envp)
	MOVQ	$59, AX
	MOVQ	path+0(FP), DI
	MOVQ	argv+8(FP), SI
	MOVQ	envp+16(FP), DX
	SYSCALL
	NEGQ	AX
	MOVQ	AX, errno+32(FP)

	// It failed: rt_sigprocmask(SIG_SETMASK, &old, NULL, 8)
	MOVQ	$14, AX
	MOVQ	$2, DI
	LEAQ	old-8(SP), SI
	MOVQ	$0, DX
	MOVQ	$8, R10
	SYSCALL
	RET
