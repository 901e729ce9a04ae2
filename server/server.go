// Package server is what runapp knows about each server it can exec: how a
// program is recognised as one, how it reads its command line, which
// application it serves when given none, how to ask its version, and what
// its unit depends on (readiness, reload, graceful stop, binds, socket
// activation). runapp serve, unit and check all read it here.
//
// Each server has one file with its entry and a line in the table below.
// The package is linked into every launch, so it holds no package-level
// maps, regexps or init work: the entries are constants that cost nothing
// until read.
package server

import (
	"cmp"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Kind is what a program of the table is to the app.
type Kind string

// The kinds of programs, one per row kind of the README's process table.
const (
	Web       Kind = "web"       // serves HTTP: gunicorn, uvicorn, hypercorn, daphne
	Worker    Kind = "worker"    // runs queued tasks: celery worker, rq worker
	Scheduler Kind = "scheduler" // enqueues tasks on a schedule: celery beat
	Program   Kind = "program"   // anything else: python manage.py ..., a script
	Release   Kind = "release"   // the Procfile's release command: run at deploy, never a service
)

// Server is one program's entry in the table: a server, a worker, a
// scheduler, or what runapp assumes of any other program.
type Server struct {
	// Name is the server's name, which is also its program's: see Lookup.
	// For a program found by its subcommand it is both ("celery worker").
	Name string
	// Kind is what the program is to the app.
	Kind Kind
	// HUPRestarts: SIGHUP makes the program stop as TERM does and then
	// exec itself again, keeping its PID and its environment (celery
	// worker). Not a reload: no ExecReload=. With ReloadSignal "" and
	// HUPRestarts false, HUP kills the program.
	HUPRestarts bool
	// MainOnly: a stop signal must reach the main process only (systemd's
	// KillMode=mixed): the program's children, given TERM themselves, die
	// at once and the work they run is lost.
	MainOnly bool
	// NotifySince is the first version that sends READY=1 to systemd
	// from its main process, for Type=notify; "" when none does.
	NotifySince string
	// ReloadSignal is the signal that makes the server reload its code
	// and configuration without dropping connections ("HUP"), for
	// ExecReload=; "" when there is none.
	ReloadSignal string
	// GracefulTimeout is how long, by default, the server lets running
	// requests finish after SIGTERM before it stops them; see Args.
	GracefulTimeout time.Duration
	// GracefulUnbounded: after SIGTERM the server waits for every request
	// to finish, with no bound of its own (GracefulTimeout is then 0), so
	// the unit's TimeoutStopSec= is the bound.
	GracefulUnbounded bool
	// SocketArgs are the arguments that make the server serve the socket
	// systemd passes it (fd 3, with a socket unit); nil when it takes the
	// socket from LISTEN_FDS by itself.
	SocketArgs []string
	// socketArgs, when set, gives SocketArgs for the socket's family; see
	// SocketArgsFor.
	socketArgs func(unixSocket, ipv6 bool) []string
	// DjangoApp is what the server serves of a Django project when given
	// no application: the module inside the project's package, with
	// ":attribute" when the server must be told one. "wsgi" finds
	// PROJECT/wsgi.py and serves PROJECT.wsgi. "" when runapp looks for no
	// application for this server.
	DjangoApp string
	// closesUnread: the graceful stop closes, unanswered, the connections
	// the server has accepted and whose request it has not read yet; see
	// ClosesUnread.
	closesUnread bool
	// NameVar is the environment variable a worker reads its name among
	// its peers from, for a unit to give each of several instances on one
	// host its own; "" when the program has none, or names each worker
	// uniquely by itself. The value is NAME@HOST, and %h in it the host.
	NameVar string
	// ConfFile is the configuration file the server reads from its working
	// directory when told none; it may name the application, so when it
	// exists runapp does not look for one. "" when there is none.
	ConfFile string

	// version reads the version from what PROGRAM --version prints, ""
	// when there is none.
	version func(out []byte) string
	// args reads the server's command line; see ReadArgs.
	args func(args []string) (Args, error)
	// command, for a program found by its subcommand, reads a whole argv
	// (program first) and says whether it runs this entry; see ForArgv.
	command func(argv []string) (bool, error)
}

// servers is the table, one entry per program, each defined in its file.
var servers = [...]*Server{&gunicorn, &uvicorn, &hypercorn, &daphne, &celeryWorker, &celeryBeat, &rqWorker}

// Names returns the names of the web servers in the table, in its order:
// the names --server recognises (shell completion offers them).
func Names() []string {
	var names []string
	for _, s := range servers {
		if s.Kind == Web {
			names = append(names, s.Name)
		}
	}
	return names
}

// ForArgv returns the entry of the program argv runs (program first, as a
// Procfile's command splits): a server by its program's name (Lookup), a
// worker or scheduler by its program and subcommand (celery -A proj
// worker), and for anything else the plain Program entry, which assumes
// only that it stays in the foreground. An error says what would make the
// program leave the process systemd started (celery multi, --detach).
func ForArgv(argv []string) (*Server, error) {
	if len(argv) == 0 {
		return &program, nil
	}
	if s := Lookup(argv[0]); s != nil {
		return s, nil
	}
	argv = pythonM(argv)
	for _, s := range servers {
		if s.command == nil {
			continue
		}
		ok, err := s.command(argv)
		if err != nil {
			return nil, err
		}
		if ok {
			return s, nil
		}
	}
	return &program, nil
}

// ForProcess is ForArgv for a Procfile's process type name: "release" is
// the release command, which runs at deploy and is never a service, as on
// Heroku.
func ForProcess(name string, argv []string) (*Server, error) {
	if name == "release" {
		return &release, nil
	}
	return ForArgv(argv)
}

// pythonM turns "python -m celery ARGS" into "celery ARGS": the module run
// as its console script would run it.
func pythonM(argv []string) []string {
	base := strings.TrimRight(filepath.Base(argv[0]), "0123456789.")
	if base == "python" && len(argv) > 2 && argv[1] == "-m" {
		return argv[2:]
	}
	return argv
}

// subcommand returns the first word of args that is not an option, nor
// the value of one of valued (options written apart from their value), and
// what follows it.
func subcommand(args []string, valued []string) (string, []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			if i+1 < len(args) {
				return args[i+1], args[i+2:]
			}
			return "", nil
		case !strings.HasPrefix(a, "-") || a == "-":
			return a, args[i+1:]
		case slices.Contains(valued, a):
			i++
		}
	}
	return "", nil
}

// Lookup returns the entry of the server program runs, or nil for a
// program runapp knows nothing of. program is a name or a path, as --server
// takes it. The one rule: the program's base name, less a version suffix of
// digits and dots, is the server's name. So "gunicorn", "gunicorn3" (as
// Debian named Python 3's) and "venv/bin/gunicorn" are gunicorn;
// "gunicorn_paster", "gunicorn-dev" and "run-gunicorn" are not.
func Lookup(program string) *Server {
	name := strings.TrimRight(filepath.Base(program), "0123456789.")
	for _, s := range servers {
		if s.Kind == Web && s.Name == name {
			return s
		}
	}
	return nil
}

// Args is what runapp reads from a server's command line, as the server
// reads it.
type Args struct {
	// App is the application argument, "" when none is given.
	App string
	// AppFrom is the option that may name the application instead, with
	// App "": a configuration file ("-c conf.py") or a paste deployment
	// for gunicorn. "" when only App can name it, so that with App ""
	// runapp looks for the application (Server.DjangoApp).
	AppFrom string
	// Graceful is how long the server lets running requests finish after
	// SIGTERM: the server's GracefulTimeout unless an option sets it.
	Graceful time.Duration
	// Binds are the addresses the server listens on, in order; nil when
	// the command line names none, and the server's default applies
	// (which its configuration file or environment may change).
	Binds []Bind
	// GracefulUnbounded: the server waits for every request after SIGTERM,
	// with no bound (Graceful is then 0).
	GracefulUnbounded bool
	// Supervisor is the option that puts a supervisor process in the
	// server's place, the PID systemd watches, with the app in its
	// children and signals handled differently ("--workers 2",
	// "--reload"); "" when the server runs the app itself or is built as a
	// supervisor (gunicorn's master).
	Supervisor string
	// Reloader is the option that makes the server restart itself when a
	// file changes ("--reload"), a development aid; "" when none.
	Reloader string
	// Worker is the worker class, for a server that has them (gunicorn's
	// -k/--worker-class, "uvicorn.workers.UvicornWorker"); "" for the
	// server's default, or one its configuration file may set.
	Worker string
	// Name is the option that names a worker among its peers ("-n
	// w1@%h"), which wins over NameVar: instances that run one command
	// share it. "" when none is given.
	Name string
}

// ClosesUnread says whether the server's graceful stop, with the command
// line a, closes the connections it has accepted and whose request it has
// not read yet: under load, the requests of the clients connecting just
// then are lost at each restart, and at each reload where the stop is of
// workers (gunicorn's, of uvicorn's worker class).
func (s *Server) ClosesUnread(a Args) bool {
	return s.closesUnread || s == &gunicorn && GunicornASGIWorker(a.Worker)
}

// SocketArgsFor returns the arguments that make the server serve the
// socket systemd passes as fd 3, for a unix socket or an IPv6 or IPv4 one.
func (s *Server) SocketArgsFor(unixSocket, ipv6 bool) []string {
	if s.socketArgs != nil {
		return s.socketArgs(unixSocket, ipv6)
	}
	return s.SocketArgs
}

// seconds is n whole seconds.
func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

// ReadArgs reads the server's command line as the server does. An error
// says what the server would refuse, or what makes it leave the process
// systemd started.
func (s *Server) ReadArgs(args []string) (Args, error) {
	return s.args(args)
}

// Bind is one address a server listens on.
type Bind struct {
	Addr string // as given
	Unix string // the path of a unix socket; "" for other addresses
	TCP  bool
	// Port is the TCP port bound: the server's default when the address
	// names none, 0 when it is not a number.
	Port int
}

// Privileged says whether binding b may need CAP_NET_BIND_SERVICE: a TCP
// port below 1024, or one that cannot be told.
func (b Bind) Privileged() bool {
	return b.TCP && b.Port < 1024
}

// Notifies says whether version of the server sends READY=1 to systemd. An
// error says version is not a version number.
func (s *Server) Notifies(version string) (bool, error) {
	if s.NotifySince == "" {
		// No version does: none need be asked (AnyVersion).
		return false, nil
	}
	v, ok := parseVersion(version)
	if !ok {
		return false, fmt.Errorf("%s version %q is not a version number like 20.1.0", s.Name, version)
	}
	since, _ := parseVersion(s.NotifySince)
	for i := range max(len(v), len(since)) {
		a, b := at(v, i), at(since, i)
		if a != b {
			return a > b, nil
		}
	}
	return true, nil
}

// parseVersion reads the leading dotted numbers of a version such as
// 21.2.0b1 (21, 2, 0); ok is false when it does not start with one.
func parseVersion(version string) (nums []int, ok bool) {
	for _, part := range strings.Split(version, ".") {
		digits := part[:len(part)-len(strings.TrimLeft(part, "0123456789"))]
		n, err := strconv.Atoi(digits)
		if err != nil {
			break
		}
		nums = append(nums, n)
		if digits != part {
			break
		}
	}
	return nums, len(nums) > 0
}

func at(nums []int, i int) int {
	if i < len(nums) {
		return nums[i]
	}
	return 0
}

// AnyVersion is the version Version gives for a server whose table entry
// holds for every version, and which has no --version to ask.
const AnyVersion = "any"

// ProbeTimeout is how long Version waits for an answer by default.
const ProbeTimeout = 30 * time.Second

// Probe is how to run a server's program to ask it something: as the
// service will run it, since the program may run the app's code (its
// PYTHONPATH is the app's).
type Probe struct {
	Program    string              // the program's path
	Env        []string            // its whole environment; nil: runapp's own
	Dir        string              // its working directory; "": runapp's own
	Credential *syscall.Credential // nil: as runapp's own user
	Timeout    time.Duration       // 0: ProbeTimeout
}

// Version runs the program with --version and returns the version it
// prints. The error never holds the program's output, which could echo the
// environment.
func (s *Server) Version(p Probe) (string, error) {
	if s.version == nil {
		// hypercorn and daphne have no --version, and nothing in the
		// table depends on theirs.
		return AnyVersion, nil
	}
	timeout := cmp.Or(p.Timeout, ProbeTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Program, "--version")
	cmd.Env, cmd.Dir = p.Env, p.Dir
	if p.Credential != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.Credential}
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return "", fmt.Errorf("%s --version: no answer within %s", p.Program, timeout)
	}
	if err != nil {
		return "", fmt.Errorf("%s --version: %v", p.Program, err)
	}
	v := s.version(out)
	if v == "" {
		return "", fmt.Errorf("%s --version: no version in its output", p.Program)
	}
	return v, nil
}

// AppFile is the file name of DjangoApp's module: "wsgi.py".
func (s *Server) AppFile() string {
	module, _, _ := strings.Cut(s.DjangoApp, ":")
	return module + ".py"
}

// App is the application argument that serves the Django project whose
// package is project: "project.wsgi".
func (s *Server) App(project string) string {
	return project + "." + s.DjangoApp
}
