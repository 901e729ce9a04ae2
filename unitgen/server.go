package unitgen

import (
	"cmp"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/server"
)

// stopMargin is how much longer than the server's graceful timeout systemd
// waits after SIGTERM: gunicorn kills its workers itself at the graceful
// timeout and then exits, which takes a moment more.
const stopMargin = 10 * time.Second

// unboundedGrace is how long a server whose graceful stop has no bound of
// its own may let requests finish before systemd's timeout (stopMargin
// later) kills it: gunicorn's default graceful timeout.
const unboundedGrace = 30 * time.Second

// readServer looks the server up in the table and reads its arguments,
// when its version is given; else the unit knows nothing of the server.
// Its configuration file and environment may say more than its arguments;
// the unit cannot see those, so it assumes the defaults.
func (u *units) readServer() error {
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
	if u.Listen != "" {
		// Only gunicorn takes the socket systemd passes by itself; the
		// others bind their own unless told to take fd 3.
		want := srv.SocketArgsFor(u.listenUnix, strings.HasPrefix(u.Listen, "["))
		if len(want) > 0 && !containsRun(u.Config.Args, want) {
			return usage("with --socket, %s serves the socket systemd passes only when told to: give %s after --", srv.Name, strings.Join(want, " "))
		}
	}
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
// its configuration file or environment may say otherwise.
func (u *units) capability() bool {
	if u.Listen != "" {
		return false
	}
	if u.args == nil || len(u.args.Binds) == 0 {
		return true
	}
	return slices.ContainsFunc(u.args.Binds, server.Bind.Privileged)
}
