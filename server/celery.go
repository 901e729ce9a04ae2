package server

// celery, as of 5.2 (Debian 12's python3-celery), worker and beat. Each
// fact is shown by the test named, in integration/procs_test.go, which runs
// Debian's celery through runapp with a redis-server of its own as broker.
// Sources: celery/apps/worker.py (install_platform_tweaks,
// _shutdown_handler, install_worker_restart_handler), celery/apps/beat.py
// (install_sync_handler), celery/bin/multi.py.

import (
	"fmt"
	"slices"
	"strings"
)

var celeryWorker = Server{
	Name: "celery worker",
	Kind: Worker,
	// celery sends nothing to NOTIFY_SOCKET: it logs "ready." and that is
	// all (TestCeleryReadiness). Type=exec.
	NotifySince: "",
	// HUP, when stdout is not a terminal (as under systemd), makes the
	// worker shut down warm and then os.execv itself with the same argv
	// and environment: the same PID, the old environment, and no task
	// taken meanwhile (TestCeleryWorkerHUP). celery's docs call it "not
	// recommended in production"; it is no reload: no ExecReload=, and a
	// deploy restarts the worker.
	ReloadSignal: "",
	HUPRestarts:  true,
	// TERM is a warm shutdown: no new task, the running ones finish, with
	// no time limit (TestCeleryWorkerStop); the unit's TimeoutStopSec= is
	// the bound, set from --longest-task.
	GracefulUnbounded: true,
	// The prefork pool's children, given TERM themselves, die at once and
	// their tasks fail with WorkerLostError (TestCeleryChildrenTERM): TERM
	// must reach the main process only, KillMode=mixed.
	MainOnly: true,
	// celery's command line reads options from CELERY_<SUBCOMMAND>_<OPTION>
	// too (click's auto_envvar_prefix), -n/--hostname among them, %h
	// the host; the default name is celery@%h, alike for every worker
	// of a host (TestCeleryNodeName).
	NameVar: "CELERY_WORKER_HOSTNAME",
	args:    celeryWorkerArgs,
	command: celeryWorkerCommand,
}

var celeryBeat = Server{
	Name: "celery beat",
	Kind: Scheduler,
	// Nothing sent to NOTIFY_SOCKET (TestCeleryReadiness).
	NotifySince: "",
	// beat handles TERM and INT (sync the schedule, exit) and not HUP,
	// which kills it (TestCeleryBeatSignals): no ExecReload=.
	ReloadSignal: "",
	// TERM: beat syncs its schedule file and exits at once
	// (TestCeleryBeatSignals): the default bound is plenty.
	GracefulTimeout: 0,
	args:            unboundedArgs,
	command:         celeryBeatCommand,
}

// celeryGlobalValued are celery's global options that take a value
// (celery/bin/celery.py, the click group's options), written apart.
var celeryGlobalValued = [...]string{"-A", "--app", "-b", "--broker", "--result-backend", "--loader", "--config", "--workdir"}

// Named functions rather than closures made at package level: building a
// closure is init work every launch would pay.
func celeryWorkerCommand(argv []string) (bool, error) { return celeryCommand("worker", argv) }
func celeryBeatCommand(argv []string) (bool, error)   { return celeryCommand("beat", argv) }

// celeryWorkerArgs reads a worker's command line: its name, and no bound on
// its graceful stop.
func celeryWorkerArgs(args []string) (Args, error) {
	return Args{GracefulUnbounded: true, Name: nameOption(args, "-n", "--hostname")}, nil
}

// celeryCommand says whether argv runs celery's subcommand sub. celery
// multi, whichever entry asks, is refused: it is a supervisor that forks
// the workers into the background and exits.
func celeryCommand(sub string, argv []string) (bool, error) {
	if strings.TrimRight(baseName(argv[0]), "0123456789.") != "celery" {
		return false, nil
	}
	got, rest := subcommand(argv[1:], celeryGlobalValued[:])
	if got == "multi" {
		// TestCeleryMulti: celery multi start exits at once, its
		// workers detached: systemd would take the service for
		// stopped and kill them, or lose them.
		return false, fmt.Errorf("celery multi starts its workers in the background and exits, so the process systemd watches is gone at once (celery's docs pair it with Type=forking and pidfiles); run one `celery -A APP worker` per process type instead, and several instances with runapp unit --procfile --scale worker=N")
	}
	if got != sub {
		return false, nil
	}
	if i := slices.IndexFunc(rest, func(a string) bool { return a == "--detach" || a == "-D" }); i >= 0 {
		return false, fmt.Errorf("celery %s %s forks into the background and exits, so systemd loses it; remove %s: under systemd celery runs in the foreground", sub, rest[i], rest[i])
	}
	return true, nil
}
