#include "textflag.h"

// entry is the ELF entry point when linked with -E (see EntryFlag): the arm64
// twin of entry_linux_amd64.s. It runs before the Go runtime, on the kernel's
// initial stack, which it leaves as it found it (RSP still points at argc, as
// _rt0_arm64_linux expects): it only records the signal mask, which signals
// are ignored and the open-file limit, then jumps to the runtime's own entry
// point. System calls take their number in R8 and arguments in R0-R5, and
// change no register but R0.
TEXT ·entry(SB),NOSPLIT|NOFRAME,$0
	// rt_sigprocmask(SIG_BLOCK, NULL, &blocked, 8)
	MOVD	$135, R8
	MOVD	$0, R0
	MOVD	$0, R1
	MOVD	$·blocked(SB), R2
	MOVD	$8, R3
	SVC

	// for sig := 1; sig <= 64; sig++: rt_sigaction(sig, NULL, &act, 8)
	MOVD	$1, R9
loop:
	MOVD	$134, R8
	MOVD	R9, R0
	MOVD	$0, R1
	MOVD	$·act(SB), R2
	MOVD	$8, R3
	SVC
	CBNZ	R0, next
	MOVD	·act(SB), R10
	CMP	$1, R10 // SIG_IGN
	BNE	next
	SUB	$1, R9, R11
	MOVD	$1, R10
	LSL	R11, R10
	MOVD	·ignored(SB), R12
	ORR	R10, R12
	MOVD	R12, ·ignored(SB)
next:
	ADD	$1, R9
	CMP	$65, R9
	BLT	loop

	// prlimit64(0, RLIMIT_NOFILE, NULL, &nofile)
	MOVD	$261, R8
	MOVD	$0, R0
	MOVD	$7, R1
	MOVD	$0, R2
	MOVD	$·nofile(SB), R3
	SVC
	CBNZ	R0, done
	MOVD	$1, R10
	MOVW	R10, ·nofileOK(SB)
done:
	MOVD	$1, R10
	MOVW	R10, ·captured(SB)
	B	_rt0_arm64_linux(SB)
