package unitgen

import (
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/server"
)

// restartPrevent are runapp's exit codes for a configuration that will not
// fix itself: restarting a service with a broken .env only fills the journal.
var restartPrevent = []int{launcher.ExitUsage, launcher.ExitConfig, launcher.ExitCannotRun, launcher.ExitNotFound}

type section struct {
	name string
	opts []*unit.UnitOption
}

func (s *section) add(name string, values ...string) {
	for _, v := range values {
		s.opts = append(s.opts, unit.NewUnitOption(s.name, name, v))
	}
}

func (u *units) description() string {
	if u.Process != nil {
		what := u.Config.Process
		if u.server != nil && u.server.Name != u.Config.Process && u.server.Kind != server.Program {
			what += " (" + u.server.Name + ")"
		}
		app := u.Description
		if app == "" {
			app = u.Config.AppDir
		}
		return what + " of " + app + ", started by runapp"
	}
	if u.Description != "" {
		return u.Description
	}
	server := u.Config.Server
	if server == "" {
		server = launcher.DefaultServer
	}
	return filepath.Base(server) + " for " + u.Config.AppDir + ", started by runapp"
}

func (u *units) service() []*unit.UnitOption {
	un := &section{name: "Unit"}
	desc := specifiers(u.description())
	if u.Process != nil && u.Process.Template {
		desc += ", instance %i" // the instance's name
	}
	un.add("Description", desc)
	if u.Process != nil {
		un.add("PartOf", u.Process.Target)
	}
	after := []string{"network.target"}
	if u.Process != nil {
		// Ordered after the target, so that stopping the target stops
		// this first: systemctl stop NAME.target returns once every
		// process has stopped (a target is otherwise ordered after what
		// it wants, and stops at once).
		after = append(after, u.Process.Target)
	}
	if u.Listen != "" {
		after = append(after, u.name+".socket")
		un.add("Requires", u.name+".socket")
	}
	un.add("After", strings.Join(append(after, u.After...), " "))
	if len(u.Wants) > 0 {
		un.add("Wants", strings.Join(u.Wants, " "))
	}

	s := &section{name: "Service"}
	oneshot := u.Process != nil && u.Process.Calendar != ""
	switch {
	case oneshot:
		// The job runs to its end; a failure fails the start job, which
		// systemd logs at priority err, and leaves the unit failed, in
		// systemctl --failed, until the next run.
		s.add("Type", "oneshot")
	case u.notify:
		// The server sends READY=1 from the main process once it listens;
		// runapp keeps the main PID by exec'ing it.
		s.add("Type", "notify")
		s.add("NotifyAccess", "main")
	default:
		// exec: a start fails when runapp itself cannot be executed.
		s.add("Type", "exec")
	}
	s.add("User", u.User)
	if u.Group != "" {
		s.add("Group", u.Group)
	}
	s.add("WorkingDirectory", specifiers(u.Config.AppDir))
	if u.EnvironmentFile {
		for _, f := range u.envFiles {
			prefix := ""
			if f.optional {
				prefix = "-"
			}
			s.add("EnvironmentFile", prefix+specifiers(f.path))
		}
	}
	if u.Credential {
		for _, f := range u.envFiles {
			s.add("LoadCredential", f.credential+":"+specifiers(f.path))
		}
	}
	if u.Process != nil && u.Process.Template && u.server != nil {
		if name := InstanceName(u.server); name != "" {
			s.add("Environment", name)
		}
	}
	s.add("ExecStart", u.execStart())
	// A server the unit knows nothing of gets no ExecReload=: a signal it
	// does not handle would kill it (HUP kills uvicorn), and systemd
	// refuses a reload it cannot do rather than restart the service
	// behind Restart=on-failure.
	if u.server != nil && u.server.ReloadSignal != "" {
		s.add("ExecReload", "/bin/kill -"+u.server.ReloadSignal+" $MAINPID")
	}
	// mixed: SIGTERM to the server's main process only (gunicorn's master),
	// which stops its workers gracefully; SIGKILL to whatever is left when
	// the timeout ends.
	s.add("KillMode", "mixed")
	// A server whose graceful stop has no bound of its own (uvicorn 0.17),
	// or is not known, gets systemd's timeout as the bound, as long as
	// gunicorn's default lets requests finish; a worker's, its longest task.
	var longest time.Duration
	if u.Process != nil {
		longest = u.Process.LongestTask
	}
	s.add("TimeoutStopSec", strconv.Itoa(int((server.StopTimeout(u.args, longest)+time.Second-1)/time.Second)))
	if !oneshot {
		s.add("Restart", "on-failure")
		codes := make([]string, len(restartPrevent))
		for i, c := range restartPrevent {
			codes[i] = strconv.Itoa(c)
		}
		s.add("RestartPreventExitStatus", strings.Join(codes, " "))
	}
	if u.capability() {
		s.add("AmbientCapabilities", "CAP_NET_BIND_SERVICE")
	}
	for _, d := range u.runtimeDirs {
		s.add("RuntimeDirectory", pathWord(d))
	}
	if u.server != nil && u.server.Kind == server.Scheduler {
		// celery beat writes its schedule; under ProtectSystem=strict the
		// app directory is read-only, so it gets a directory of its own:
		// beat -s ${STATE_DIRECTORY:-.}/celerybeat-schedule in the Procfile.
		s.add("StateDirectory", u.name)
	}
	u.harden(s)

	in := &section{name: "Install"}
	switch {
	case oneshot:
		return join(un, s) // its timer starts it
	case u.Process != nil:
		in.add("WantedBy", u.Process.Target)
	default:
		in.add("WantedBy", "multi-user.target")
	}
	return join(un, s, in)
}

// ExecArgv returns the argv systemd runs for the service's ExecStart=:
// runapp's absolute path and the flags that recreate the configuration, then
// "--" and the server arguments. Paths are absolute, except env files, which
// keep the names runapp's messages call them by (".env:12: ..."): they are
// relative to the absolute --app-dir. Env files passed
// as credentials are named in the credentials directory of a system service.
func ExecArgv(o Options) ([]string, error) {
	u, err := newUnits(o)
	if err != nil {
		return nil, err
	}
	argv, _ := u.argv()
	return argv, nil
}

// argv is ExecArgv; credential says which words name a credential.
func (u *units) argv() (argv []string, credential map[int]bool) {
	c := u.Config
	argv = []string{u.Runapp, "--app-dir", c.AppDir}
	for _, f := range u.envFiles {
		if f.credential == "" {
			argv = append(argv, "--env-file", f.given)
		}
	}
	if c.Venv != "" {
		argv = append(argv, "--venv", c.Venv)
	}
	for _, p := range c.PythonPath {
		argv = append(argv, "--pythonpath", p)
	}
	if c.Server != "" {
		argv = append(argv, "--server", c.Server)
	}
	// The Procfile is read again at each start, as Heroku does: a changed
	// command takes a restart, not a new unit.
	if c.Procfile != "" && c.Procfile != launcher.DefaultProcfile {
		argv = append(argv, "--procfile="+c.Procfile)
	}
	if c.Process != "" {
		argv = append(argv, "--process", c.Process)
	}
	credential = map[int]bool{}
	for _, f := range u.envFiles {
		if f.credential != "" {
			credential[len(argv)+1] = true
			argv = append(argv, "--env-file", u.credentialsDir()+"/"+f.credential)
		}
	}
	if len(c.Args) > 0 {
		argv = append(argv, "--")
		argv = append(argv, c.Args...)
	}
	return argv, credential
}

// credentialsDir is where systemd puts a system service's credentials.
func (u *units) credentialsDir() string {
	return "/run/credentials/" + u.name + ".service"
}

// execStart writes argv for ExecStart=.
func (u *units) execStart() string {
	argv, credential := u.argv()
	quoted := make([]string, len(argv))
	for i, w := range argv {
		switch {
		case i == 0:
			// The program's path gets no "$" expansion (and has no "$").
			quoted[i] = quoteWord(specifiers(w))
		case credential[i]:
			// %d is the credentials directory, wherever systemd puts it;
			// credential names need no quoting.
			quoted[i] = "%d/" + filepath.Base(w)
		default:
			quoted[i] = execWord(w)
		}
	}
	return strings.Join(quoted, " ")
}

// harden adds the sandboxing of u.Hardening.
func (u *units) harden(s *section) {
	if u.Hardening == None {
		return
	}
	bind := u.capability()
	s.add("NoNewPrivileges", "yes")
	if u.Hardening == Basic {
		s.add("ProtectSystem", "full")
	} else {
		s.add("ProtectSystem", "strict")
	}
	if len(u.writable) > 0 {
		words := make([]string, len(u.writable))
		for i, w := range u.writable {
			words[i] = pathWord(w)
		}
		s.add("ReadWritePaths", strings.Join(words, " "))
	}
	if u.Hardening == Strict {
		// The app may live in a home directory; hide homes only when
		// nothing the service uses is there.
		if u.usesHome() {
			s.add("ProtectHome", "read-only")
		} else {
			s.add("ProtectHome", "yes")
		}
	}
	s.add("PrivateTmp", "yes")
	s.add("PrivateDevices", "yes")
	if u.Hardening == Strict {
		s.add("PrivateMounts", "yes")
		if !bind {
			// A capability in a user namespace of its own does not let
			// the service bind low ports of the host's network.
			s.add("PrivateUsers", "yes")
		}
	}
	s.add("ProtectKernelTunables", "yes")
	s.add("ProtectKernelModules", "yes")
	s.add("ProtectKernelLogs", "yes")
	s.add("ProtectControlGroups", "yes")
	s.add("ProtectClock", "yes")
	s.add("ProtectHostname", "yes")
	if u.Hardening == Strict {
		s.add("ProtectProc", "invisible")
		s.add("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6")
	}
	s.add("RestrictNamespaces", "yes")
	s.add("RestrictRealtime", "yes")
	s.add("RestrictSUIDSGID", "yes")
	s.add("LockPersonality", "yes")
	s.add("SystemCallArchitectures", "native")
	if u.Hardening == Basic {
		if u.User != "root" {
			// A user other than root has no capabilities to lose.
			s.add("CapabilityBoundingSet", capabilities(bind))
		}
		return
	}
	s.add("RemoveIPC", "yes")
	// @system-service keeps what gunicorn needs: fork, signals, and its
	// workers' setuid to their own user and fchmod of their heartbeat
	// file. A call outside it fails with EPERM instead of killing the
	// process, so the app can say what it tried.
	s.add("SystemCallFilter", "@system-service")
	s.add("SystemCallErrorNumber", "EPERM")
	s.add("CapabilityBoundingSet", capabilities(bind))
	s.add("UMask", "0027")
}

func capabilities(bind bool) string {
	if bind {
		return "CAP_NET_BIND_SERVICE"
	}
	return ""
}

// usesHome says whether a path the service reads or writes is under /home,
// /root or /run/user, which ProtectHome=yes would hide.
func (u *units) usesHome() bool {
	paths := append([]string{u.Config.AppDir, u.Runapp, u.Config.Venv}, u.Config.PythonPath...)
	paths = append(paths, u.writable...)
	if strings.Contains(u.Config.Server, "/") {
		paths = append(paths, u.Config.Server)
	}
	for _, f := range u.envFiles {
		if f.credential == "" {
			paths = append(paths, f.path)
		}
	}
	for _, p := range paths {
		for _, home := range []string{"/home", "/root", "/run/user"} {
			if p == home || strings.HasPrefix(p, home+"/") {
				return true
			}
		}
	}
	return false
}

func (u *units) socket() []*unit.UnitOption {
	un := &section{name: "Unit"}
	un.add("Description", specifiers(u.description())+" (socket)")
	if u.Process != nil {
		un.add("PartOf", u.Process.Target)
	}
	s := &section{name: "Socket"}
	s.add("ListenStream", specifiers(u.Listen))
	if u.listenUnix {
		// systemd creates the socket; the service's user and group (a web
		// server in that group) may connect to it.
		s.add("SocketUser", u.User)
		if u.Group != "" {
			s.add("SocketGroup", u.Group)
		}
		s.add("SocketMode", "0660")
	}
	in := &section{name: "Install"}
	in.add("WantedBy", "sockets.target")
	return join(un, s, in)
}

func join(sections ...*section) []*unit.UnitOption {
	var opts []*unit.UnitOption
	for _, s := range sections {
		opts = append(opts, s.opts...)
	}
	return opts
}

// InstanceName is the Environment= assignment that gives each instance of
// a template of srv's worker a name of its own, NAME-TYPE-I@HOST; "" when
// srv names its workers apart by itself. Instances of one command would
// otherwise share the worker's default name (celery@HOST). It is not taken
// from the env files, which are alike for all; a name they set wins.
func InstanceName(srv *server.Server) string {
	if srv.NameVar == "" {
		return ""
	}
	return srv.NameVar + "=%p-%i@%%h"
}
