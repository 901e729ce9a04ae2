package launcher

// Executing a plan, kept apart from building it (plan.go, command.go): the
// one step of runapp that does not return when it works.

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/internal/startsig"
)

// execve is the seam tests replace to capture what would be exec'd.
var execve = startsig.Exec

// Exec changes to the plan's directory and replaces runapp with its program.
// It returns only on failure. runapp starts no goroutine and installs no
// signal handler of its own, and startsig puts back the signal mask, ignored
// signals and open-file limit the Go runtime changed, so the program starts
// with the ones runapp was started with.
func Exec(p *Plan) error {
	if err := unix.Chdir(p.Dir); err != nil {
		return Errorf(ExitConfig, "cannot change to app directory: %w", err)
	}
	env := p.Environ()
	err := execve(p.Program, p.Argv, env)
	if errors.Is(err, unix.E2BIG) {
		if serr := p.CheckSize(); serr != nil {
			return serr
		}
		return &Error{Code: ExitConfig, Err: fmt.Errorf("cannot run %s: %w", p.Program, err)}
	}
	// Only now, so as not to read the script on every launch.
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EACCES) {
		if ierr := interpreter(p.Program); ierr != nil {
			return ierr
		}
	}
	code := ExitCannotRun
	if errors.Is(err, unix.ENOENT) {
		code = ExitNotFound
	}
	return &Error{Code: code, Err: fmt.Errorf("cannot run %s: %w", p.Program, err)}
}
