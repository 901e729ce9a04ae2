package server

import "time"

// StopMargin is how much longer than a program's graceful stop its
// supervisor (systemd's TimeoutStopSec=, the kubelet's
// terminationGracePeriodSeconds) waits after TERM before it kills:
// gunicorn kills its workers itself at the graceful timeout and then
// exits, which takes a moment more.
const StopMargin = 10 * time.Second

// UnboundedGrace is the graceful stop assumed of a program whose stop has
// no bound of its own, or that runapp does not know: gunicorn's default
// graceful timeout, so that requests may finish as under gunicorn.
const UnboundedGrace = 30 * time.Second

// GracefulStop is how long a program may take to stop after TERM: the
// bound its arguments a set (nil when runapp does not know it), else for
// a worker the longest task it runs (longestTask, 0 when not known),
// since a worker's warm shutdown waits for its running tasks with no
// bound of its own, else UnboundedGrace. The supervisor's timeout is this
// plus StopMargin.
func GracefulStop(s *Server, a *Args, longestTask time.Duration) time.Duration {
	switch {
	case a != nil && !a.GracefulUnbounded:
		return a.Graceful
	case s != nil && s.Kind == Worker && longestTask > 0:
		return longestTask
	}
	return UnboundedGrace
}
