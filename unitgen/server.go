package unitgen

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/server"
)

// readServer looks the server up in the table and reads its arguments,
// when its version is given; else the unit knows nothing of the server.
// Its configuration file and environment may say more than its arguments;
// the unit cannot see those, so it assumes the defaults.
func (u *units) readServer() error {
	if u.Process != nil {
		return u.readProcess()
	}
	if u.ServerVersion == "" {
		return nil
	}
	program := cmp.Or(u.Config.Server, launcher.DefaultServer)
	srv := server.Lookup(program)
	if srv == nil {
		return usage("a server version is given, but runapp does not know the server %s", filepath.Base(program))
	}
	var err error
	if u.notify, err = srv.Notifies(u.ServerVersion); err != nil {
		return usage("%v", err)
	}
	args, err := srv.ReadArgs(u.Config.Args)
	if err != nil {
		return usage("server arguments: %v", err)
	}
	u.server, u.args = srv, &args
	if u.Listen == "" {
		return nil
	}
	// Only gunicorn takes the socket systemd passes by itself; the others
	// bind their own unless told to take fd 3, which the unit tells them
	// (launcher still finds the application after it).
	want := srv.SocketArgsFor(u.listenUnix, strings.HasPrefix(u.Listen, "["))
	if len(want) == 0 || containsRun(u.Config.Args, want) {
		return nil
	}
	if len(args.Binds) > 0 {
		addrs := make([]string, len(args.Binds))
		for i, b := range args.Binds {
			addrs[i] = b.Addr
		}
		return usage("with --socket systemd listens, and %s serves its socket when given %s, which runapp unit adds; drop the arguments that bind %s", srv.Name, strings.Join(want, " "), strings.Join(addrs, ", "))
	}
	u.Config.Args = slices.Concat(want, u.Config.Args)
	if args, err = srv.ReadArgs(u.Config.Args); err != nil {
		return usage("server arguments: %v", err)
	}
	u.args = &args
	return nil
}

// containsRun reports whether args holds want as consecutive words.
func containsRun(args, want []string) bool {
	for i := 0; i+len(want) <= len(args); i++ {
		if slices.Equal(args[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

// socketDir is where the server creates the unix socket at path, which the
// service must be able to write to; rel is the path relative to /run when
// that directory is directly under /run (made with RuntimeDirectory=, since
// /run is empty at boot).
func socketDir(path, appDir string) (dir, rel string) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(appDir, path)
	}
	dir = filepath.Dir(filepath.Clean(path))
	if filepath.Dir(dir) == "/run" {
		rel = filepath.Base(dir)
	}
	return dir, rel
}

// capability says whether the server needs CAP_NET_BIND_SERVICE: it binds
// itself (no --socket) and may bind a port below 1024. A known server's
// binds are read from its arguments; its default is not trusted, because
// its configuration file or environment may say otherwise. A server runapp
// does not know gets none: its binds cannot be read, and Notice says how to
// grant it.
func (u *units) capability() bool {
	if u.Listen != "" || u.server == nil || u.server.Kind != server.Web {
		return false
	}
	if u.args == nil || len(u.args.Binds) == 0 {
		return true
	}
	return slices.ContainsFunc(u.args.Binds, server.Bind.Privileged)
}

// Notice says what runapp could not know about a server that is not in its
// table (or that --gunicorn-version none says to assume nothing of), and so
// what the unit assumes; "" for a server the unit fits. Bad options are
// Service's errors.
func Notice(o Options) (string, error) {
	u, err := newUnits(o)
	if err != nil || u.server != nil {
		return "", err
	}
	program := filepath.Base(cmp.Or(u.Config.Server, launcher.DefaultServer))
	why := "runapp does not know the server " + program
	if server.Lookup(program) != nil {
		why = "told to assume nothing of " + program
	}
	binds := fmt.Sprintf("no CAP_NET_BIND_SERVICE: to serve a port below 1024, give --socket PORT (if %s takes a socket from systemd) or add AmbientCapabilities=CAP_NET_BIND_SERVICE", program)
	if u.Listen != "" {
		binds = fmt.Sprintf("%s must serve the socket systemd passes (fd 3, LISTEN_FDS) rather than bind its own; runapp cannot tell whether it does, or what argument tells it to", program)
	}
	lines := []string{
		why + ", so the unit assumes only that it stays in the foreground:",
		"readiness: Type=exec, so systemd deems it started once it runs, not once it listens",
		"reload: no ExecReload=, so systemctl reload is refused: restart it instead (a signal it does not handle could kill it, and Restart= would hide that as a crash)",
		fmt.Sprintf("graceful stop: TimeoutStopSec=%d lets requests finish for %d s after SIGTERM before systemd kills it", int((server.UnboundedGrace+server.StopMargin)/time.Second), int(server.UnboundedGrace/time.Second)),
		"binds: " + binds,
	}
	return strings.Join(lines, "\n  ") + "\n", nil
}

// DefaultListen is the address runapp unit gives a socket unit when
// --socket is not given: the TCP address the server's arguments bind, when
// they bind exactly one, as numeric ADDR:PORT. It is "" otherwise, and the
// server listens itself: with no bind in the arguments (the server's
// configuration file or environment may bind, which the unit cannot see,
// and a socket would override them), several, a unix socket, a host name,
// a server runapp does not know (o.ServerVersion ""), or a server that
// takes systemd's socket only through an argument in place of its own bind
// (uvicorn's --fd 3), which would mean rewriting the arguments given.
//
// With a socket unit systemd holds the listening socket across a restart,
// so connections wait instead of being refused (BENCHMARKS.md, Deploys).
// For a Procfile's process (o.Process), the server is its command's, when
// that is a web server.
func DefaultListen(o Options) string {
	if o.ServerVersion == "" {
		return ""
	}
	srv, argv := server.Lookup(cmp.Or(o.Config.Server, launcher.DefaultServer)), o.Config.Args
	if o.Process != nil {
		s, err := server.ForArgv(o.Process.Argv)
		if err != nil || s.Kind != server.Web {
			return ""
		}
		srv, argv = s, o.Process.Argv[1:]
	}
	if srv == nil || srv.SocketArgsFor(false, false) != nil {
		return ""
	}
	args, err := srv.ReadArgs(argv)
	if err != nil || len(args.Binds) != 1 || !args.Binds[0].TCP {
		return ""
	}
	addr := strings.TrimPrefix(args.Binds[0].Addr, "tcp://")
	if !strings.Contains(addr, ":") || !tcpListen(addr) {
		return ""
	}
	return addr
}
