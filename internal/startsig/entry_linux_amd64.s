#include "textflag.h"

// entry is the ELF entry point when linked with -E (see EntryFlag). It runs
// before the Go runtime, on the kernel's initial stack, which it leaves as it
// found it: it only records the signal mask, which signals are ignored and
// the open-file limit, then jumps to the runtime's own entry point.
TEXT ·entry(SB),NOSPLIT|NOFRAME,$0
	// rt_sigprocmask(SIG_BLOCK, NULL, &blocked, 8)
	MOVQ	$14, AX
	MOVQ	$0, DI
	MOVQ	$0, SI
	LEAQ	·blocked(SB), DX
	MOVQ	$8, R10
	SYSCALL

	// for sig := 1; sig <= 64; sig++: rt_sigaction(sig, NULL, &act, 8)
	MOVQ	$1, R12
loop:
	MOVQ	$13, AX
	MOVQ	R12, DI
	MOVQ	$0, SI
	LEAQ	·act(SB), DX
	MOVQ	$8, R10
	SYSCALL
	CMPQ	AX, $0
	JNE	next
	MOVQ	·act(SB), AX
	CMPQ	AX, $1 // SIG_IGN
	JNE	next
	MOVQ	R12, CX
	DECQ	CX
	MOVQ	$1, AX
	SHLQ	CX, AX
	ORQ	AX, ·ignored(SB)
next:
	INCQ	R12
	CMPQ	R12, $65
	JLT	loop

	// prlimit64(0, RLIMIT_NOFILE, NULL, &nofile)
	MOVQ	$302, AX
	MOVQ	$0, DI
	MOVQ	$7, SI
	MOVQ	$0, DX
	LEAQ	·nofile(SB), R10
	SYSCALL
	CMPQ	AX, $0
	JNE	done
	MOVL	$1, ·nofileOK(SB)
done:
	MOVL	$1, ·captured(SB)
	JMP	_rt0_amd64_linux(SB)
