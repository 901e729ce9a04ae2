package launcher

import (
	"errors"
	"fmt"
)

// Exit codes, shared by every subcommand and by the units runapp writes
// (RestartPreventExitStatus=). 78 is EX_CONFIG from sysexits.h; 126 and 127
// are what shells use for a program that cannot be run or is not found.
const (
	ExitUsage     = 2
	ExitConfig    = 78
	ExitCannotRun = 126
	ExitNotFound  = 127
)

// Error is a failure with the exit code it calls for.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a message formatted as by fmt.Errorf.
func Errorf(code int, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// ExitCode returns the exit code err calls for: 0 for nil, the code of an
// *Error inside it, else 1.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 1
}
