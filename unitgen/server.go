package unitgen

import (
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/runapp/runapp/internal/gunicorn"
	"github.com/runapp/runapp/launcher"
)

// stopMargin is how much longer than gunicorn's graceful timeout systemd
// waits after SIGTERM: gunicorn kills its workers itself at the graceful
// timeout and then exits, which takes a moment more.
const stopMargin = 10

// gunicornArgs is what the unit needs to know from gunicorn's command line.
// gunicorn.conf.py and GUNICORN_CMD_ARGS may say more; the unit cannot see
// those, so it assumes the defaults.
type gunicornArgs struct {
	graceful int      // seconds
	binds    []string // --bind values, in order
}

// parseGunicornArgs reads --graceful-timeout and --bind from gunicorn's
// arguments as gunicorn does (bundled short options such as -Db:80
// included); abbreviated long options are not recognised.
func parseGunicornArgs(args []string) (gunicornArgs, error) {
	g := gunicornArgs{graceful: int(gunicorn.GracefulTimeout / time.Second)}
	settings, _, err := gunicorn.ParseArgs(args)
	if err != nil {
		return g, launcher.Errorf(launcher.ExitUsage, "server arguments: %v", err)
	}
	if values := settings["graceful_timeout"]; values != nil {
		value := values[len(values)-1]
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			return g, launcher.Errorf(launcher.ExitUsage, "server argument --graceful-timeout %q is not a number of seconds", value)
		}
		g.graceful = n
	}
	if settings["daemon"] != nil {
		// gunicorn would fork into the background and the process systemd
		// started would exit: systemd loses the server.
		return g, launcher.Errorf(launcher.ExitUsage, "server arguments: -D/--daemon makes gunicorn leave the process systemd watches; remove it, under systemd gunicorn runs in the foreground")
	}
	g.binds = settings["bind"]
	return g, nil
}

// DefaultListen is the address runapp unit gives a socket unit when
// --socket is not given: the TCP address gunicorn's SERVER-ARGS bind, when
// they bind exactly one, as numeric ADDR:PORT. It is "" otherwise, and the
// server listens itself: with no --bind (gunicorn.conf.py or
// GUNICORN_CMD_ARGS may bind, which the unit cannot see, and a socket
// would override them), several, a unix socket, or a host name.
//
// With a socket unit systemd holds the listening socket across a restart,
// so connections wait instead of being refused (see BENCHMARKS.md, Deploys).
func DefaultListen(args []string) string {
	settings, _, err := gunicorn.ParseArgs(args)
	if err != nil || len(settings["bind"]) != 1 {
		return ""
	}
	bind := strings.TrimPrefix(settings["bind"][0], "tcp://")
	if _, tcp := gunicorn.Port(bind); !tcp || !strings.Contains(bind, ":") || !tcpListen(bind) {
		return ""
	}
	return bind
}

// privileged says whether binding to the gunicorn address bind may need
// CAP_NET_BIND_SERVICE: a TCP port below 1024, or one that can't be told,
// as when the address names none.
func privileged(bind string) bool {
	port, tcp := gunicorn.Port(bind)
	if !tcp {
		return false
	}
	n, err := strconv.Atoi(port)
	return err != nil || n < 1024
}

// socketDir is where gunicorn creates the unix socket at path, which the
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

// notifies says whether gunicorn version sends READY=1 to systemd, which it
// does since 20.0.
func notifies(version string) (bool, error) {
	major, _, _ := strings.Cut(version, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return false, launcher.Errorf(launcher.ExitUsage, "gunicorn version %q is not a version number like 20.1.0", version)
	}
	return n >= 20, nil
}

// GunicornVersion returns VERSION from the "gunicorn (version VERSION)"
// line that gunicorn --version prints in out, or "". Hand-written, not a regexp: the regexp package's
// initialisation is a measurable part of every launch.
func GunicornVersion(out []byte) string {
	_, rest, ok := strings.Cut(string(out), "gunicorn (version ")
	if !ok {
		return ""
	}
	v, _, ok := strings.Cut(rest, ")")
	if !ok || v == "" || v[0] < '0' || v[0] > '9' || strings.Trim(v, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.") != "" {
		return ""
	}
	return v
}
