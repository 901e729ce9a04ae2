package server

import "time"

// StopMargin is how much longer than a program's graceful stop its
// supervisor (systemd's TimeoutStopSec=, the kubelet's
// terminationGracePeriodSeconds, runapp start) waits after TERM before it
// kills: gunicorn kills its workers itself at the graceful timeout and
// then exits, which takes a moment more.
const StopMargin = 10 * time.Second

// UnboundedGrace is the graceful stop assumed of a program whose stop has
// no bound of its own, or that runapp does not know: gunicorn's default
// graceful timeout, so that requests may finish as under gunicorn.
const UnboundedGrace = 30 * time.Second

// GracefulStop is how long a program may take to stop after TERM, given
// its arguments (nil when runapp does not know it) and, for a worker, its
// longest task (0 when not given; the caller gives it for a worker only):
// the bound its arguments set, else the longest task, since a worker's
// warm shutdown waits for its running tasks with no bound of its own,
// else UnboundedGrace.
func GracefulStop(args *Args, longestTask time.Duration) time.Duration {
	switch {
	case args != nil && !args.GracefulUnbounded:
		return args.Graceful
	case longestTask > 0:
		return longestTask
	}
	return UnboundedGrace
}

// StopTimeout is how long a supervisor lets the program stop after TERM
// before it kills it: GracefulStop and StopMargin.
func StopTimeout(args *Args, longestTask time.Duration) time.Duration {
	return GracefulStop(args, longestTask) + StopMargin
}
