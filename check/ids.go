package check

// The check identifiers: the "check" field of every Problem, which scripts
// match on. runapp's README promises they never change, so this is the one
// place they are spelled, and ids_test.go holds them against a golden list:
// a new check gets a new identifier here; one that is retired stays listed,
// commented out, so that it is never reused with another meaning.
const (
	// The app directory.
	IDAppDirMissing = "appdir.missing" // it does not exist, or is not a directory
	IDAppDirAccess  = "appdir.access"  // the service user cannot enter it

	// The env files.
	IDEnvFileMissing   = "envfile.missing"   // a file that is not optional does not exist
	IDEnvFileRead      = "envfile.read"      // it cannot be read
	IDEnvFileAccess    = "envfile.access"    // the service user cannot read it
	IDEnvFileSyntax    = "envfile.syntax"    // a line runapp refuses
	IDEnvFileDuplicate = "envfile.duplicate" // a name set twice
	IDEnvFileMode      = "envfile.mode"      // writable or readable by others
	IDEnvFileDirMode   = "envfile.dirmode"   // its directory is writable by others

	// The environment as a whole.
	IDEnvSize = "env.size" // larger than execve passes (E2BIG)

	// The service user.
	IDUserUnknown = "user.unknown" // --user or User= names no user

	// The virtualenv.
	IDVenvMissing  = "venv.missing"  // named or found, but not usable
	IDVenvPython   = "venv.python"   // its Python does not run
	IDVenvMismatch = "venv.mismatch" // VIRTUAL_ENV names another virtualenv
	IDVenvMoved    = "venv.moved"    // its scripts name the Python of another place

	// PYTHONPATH.
	IDPythonPathMissing = "pythonpath.missing" // a --pythonpath is not a directory
	IDPythonPathEmpty   = "pythonpath.empty"   // an empty entry puts the working directory on sys.path

	// The server.
	IDServerNotFound    = "server.notfound"    // it is not found
	IDServerRun         = "server.run"         // it is found but cannot run
	IDServerAccess      = "server.access"      // the service user may not run it
	IDServerInterpreter = "server.interpreter" // its #! interpreter is missing or cannot run

	// The application.
	IDAppDetect = "app.detect" // no WSGI module given, and none (or several) found
	IDAppNone   = "app.none"   // gunicorn is given no application
	IDAppModule = "app.module" // the module is not on the service's Python path
	IDAppImport = "app.import" // the virtualenv's Python cannot find it (--import)

	// gunicorn's settings.
	IDGunicornArgs            = "gunicorn.args"             // SERVER-ARGS or GUNICORN_CMD_ARGS gunicorn refuses
	IDGunicornConfig          = "gunicorn.config"           // gunicorn.conf.py cannot be read
	IDGunicornUnknown         = "gunicorn.unknown"          // a setting check does not know
	IDGunicornDaemon          = "gunicorn.daemon"           // daemon: systemd loses the server
	IDGunicornPidfile         = "gunicorn.pidfile"          // pidfile under systemd
	IDGunicornBind            = "gunicorn.bind"             // a port below 1024 without the capability
	IDGunicornGracefulTimeout = "gunicorn.graceful_timeout" // not shorter than TimeoutStopSec=
	IDGunicornPreloadReload   = "gunicorn.preload_reload"   // preload_app: a HUP reloads no code

	// The unit.
	IDUnitRead            = "unit.read"            // it cannot be read
	IDUnitSyntax          = "unit.syntax"          // it cannot be parsed
	IDUnitType            = "unit.type"            // Type= systemd and the server disagree on
	IDUnitPidfile         = "unit.pidfile"         // PIDFile=
	IDUnitWatchdog        = "unit.watchdog"        // WatchdogSec= the server does not answer
	IDUnitKillMode        = "unit.killmode"        // KillMode= that leaves or kills workers
	IDUnitUser            = "unit.user"            // no User=: the service runs as root
	IDUnitEnvironmentFile = "unit.environmentfile" // EnvironmentFile= read differently
	IDUnitExecStart       = "unit.execstart"       // ExecStart= that leaves a shell as the main process
	IDUnitDrift           = "unit.drift"           // differs from what runapp unit writes
	IDUnitHardening       = "unit.hardening"       // less sandboxing than runapp unit writes
	IDUnitEnvPending      = "unit.env_pending"     // the running server's environment differs: only a restart applies it

	// runapp itself.
	IDRunappEntry = "runapp.entry" // built without the entry that keeps the signal state

	// The servers of issue 13 (uvicorn, hypercorn, daphne, gunicorn's
	// uvicorn worker), appended as ids_test.go's catalogue is.
	IDServerArgs       = "server.args"       // SERVER-ARGS uvicorn, hypercorn or daphne refuses
	IDServerReload     = "server.reload"     // --reload: a development reloader in production
	IDServerSupervisor = "server.supervisor" // --workers: a supervisor in MainPID, signals differ
	IDGunicornWorker   = "gunicorn.worker"   // an ASGI application under a WSGI worker class
	IDUnitReload       = "unit.reload"       // ExecReload= signals a server that has no reload

	// Containers and Kubernetes manifests (runapp check --container).
	IDContainerRead       = "container.read"       // a Containerfile or manifest cannot be read
	IDContainerEntrypoint = "container.entrypoint" // a shell as PID 1 that does not exec the server
	IDContainerCmd        = "container.cmd"        // a shell-form CMD passed to an exec-form ENTRYPOINT
	IDContainerUser       = "container.user"       // the image runs as root
	IDKubeGrace           = "kube.grace"           // terminationGracePeriodSeconds not longer than the graceful stop
	IDKubeReadiness       = "kube.readiness"       // a server with no readinessProbe
	IDKubeRoot            = "kube.root"            // the pod may run as root
	IDKubeReadOnly        = "kube.readonly"        // a writable root file system
	// The processes of a Procfile (issue 17), appended likewise.
	IDProcfileSyntax    = "procfile.syntax"    // the Procfile cannot be read, or a line of it parsed
	IDProcfileCommand   = "procfile.command"   // a command runapp refuses to split, or whose program is missing
	IDProcessSupervisor = "process.supervisor" // celery multi or --detach: the process leaves the one systemd started
	IDProcessReload     = "process.reload"     // ExecReload= sends HUP to a process that dies or re-execs on it
	IDProcessKillMode   = "process.killmode"   // KillMode= that sends TERM to a worker's children
	IDProcessTimeout    = "process.timeout"    // TimeoutStopSec= shorter than the worker's longest task
	IDProcessRelease    = "process.release"    // a unit runs the release command as a service
	IDProcessInstances  = "process.instances"  // a template unit's instances share a worker's name, or run several beats
)
