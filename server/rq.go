package server

// rq, as of 1.13 (Debian 12's python3-rq): rq worker, and rqworker, the
// same command. Each fact is shown by the test named, in
// integration/procs_test.go, which runs Debian's rq through runapp with a
// redis-server of its own. Source: rq/worker.py (_install_signal_handlers,
// request_stop, setup_work_horse_signals).

var rqWorker = Server{
	Name: "rq worker",
	Kind: Worker,
	// rq sends nothing to NOTIFY_SOCKET (TestRQWorkerSignals). Type=exec.
	NotifySince: "",
	// rq handles INT and TERM only: HUP kills the worker, and the job it
	// runs with it (TestRQWorkerSignals), although rq's own systemd example
	// sets ExecReload=/bin/kill -s HUP $MAINPID. No ExecReload=.
	ReloadSignal: "",
	// TERM: a warm shutdown, the running job finishes, with no bound; a
	// second TERM kills the job (TestRQWorkerStop).
	GracefulUnbounded: true,
	// The job runs in a forked work horse whose TERM is the default
	// action: given TERM itself, it dies with its job
	// (TestRQWorkerStop): KillMode=mixed.
	MainOnly: true,
	// Each worker names itself with a random hex id unless -n/--name
	// names it; rq refuses to start a second worker of a name that is
	// running (TestRQWorkerNames). No NameVar.
	args:    rqWorkerArgs,
	command: rqCommand,
}

// rqWorkerArgs reads a worker's command line: its name, and no bound on
// its graceful stop.
func rqWorkerArgs(args []string) (Args, error) {
	return Args{GracefulUnbounded: true, Name: nameOption(args, "-n", "--name")}, nil
}

// rqCommand says whether argv runs rq's worker: rq worker, or rqworker.
func rqCommand(argv []string) (bool, error) {
	switch baseName(argv[0]) {
	case "rqworker":
		return true, nil
	case "rq":
		// rq's group has no option of its own but --help and --version.
		sub, _ := subcommand(argv[1:], nil)
		return sub == "worker", nil
	}
	return false, nil
}
