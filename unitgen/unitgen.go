// Package unitgen renders the systemd service and socket units that run an
// app through runapp with exactly a given launcher configuration.
package unitgen

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/server"
)

// Hardening is how much of systemd's sandboxing the service gets.
type Hardening string

const (
	// Strict is what a careful operator writes for a Python web app: the
	// file system read-only but for --writable paths, no devices, no
	// kernel or cgroup tampering, a system call allow list.
	Strict Hardening = "strict"
	// Basic is the subset that never breaks a normal app.
	Basic Hardening = "basic"
	// None is the seed unit's shape: no sandboxing.
	None Hardening = "none"
)

// Hardenings returns the levels --hardening takes, strictest first (shell
// completion offers them).
func Hardenings() []Hardening {
	return []Hardening{Strict, Basic, None}
}

// Options is the launcher configuration the unit recreates plus what only
// the unit needs.
type Options struct {
	// Config is what runapp will be started with. AppDir must be absolute;
	// relative env files, virtualenv, PYTHONPATH entries and server paths
	// are relative to it, as for the launcher. Command must be false.
	Config launcher.Config
	// Runapp is the absolute path of the runapp binary ExecStart= runs.
	Runapp string
	// Name is the unit's name without ".service".
	Name        string
	Description string // default: the server and the app directory
	User        string // required: an unset User= would run the app as root
	Group       string // default: none, which systemd takes as the user's primary group
	// Listen makes a NAME.socket: a port, ADDR:PORT or a unix socket path.
	Listen    string
	Hardening Hardening // default Strict
	// Writable are absolute paths the app may write under Strict.
	Writable []string
	// After and Wants are units added to After= and Wants=.
	After, Wants []string
	// EnvironmentFile adds EnvironmentFile= for each env file, for
	// ExecStartPre= commands that need the variables.
	EnvironmentFile bool
	// Credential passes each env file with LoadCredential=, so that it may
	// be readable by root only; runapp reads it from the credentials
	// directory.
	Credential bool
	// ServerVersion is the version of the program the server resolves
	// to, which must be one in runapp's server table (server.Lookup); the
	// unit then fits that server. "" writes a unit that assumes nothing of
	// the server.
	ServerVersion string
	// Process is set for a unit that runs a Procfile's process type
	// (Config.Process); see Units.
	Process *Process
}

// Service returns the text of NAME.service. Bad options are a *launcher.Error
// with code launcher.ExitUsage.
func Service(o Options) (string, error) {
	u, err := newUnits(o)
	if err != nil {
		return "", err
	}
	return render(u.name+".service", u.service())
}

// Socket returns the text of NAME.socket, or "" when o.Listen is empty. Bad
// options are a *launcher.Error with code launcher.ExitUsage.
func Socket(o Options) (string, error) {
	u, err := newUnits(o)
	if err != nil || o.Listen == "" {
		return "", err
	}
	return render(u.name+".socket", u.socket())
}

// units is Options checked and resolved.
type units struct {
	Options
	name     string
	envFiles []envFile
	// server is the server's entry and args what its arguments say, nil
	// when the unit knows nothing of the server.
	server *server.Server
	args   *server.Args
	notify bool
	// writable are the paths for ReadWritePaths=; runtimeDirs for
	// RuntimeDirectory= (directories under /run the server binds in).
	writable, runtimeDirs []string
	// listenUnix is set when Listen is a unix socket path.
	listenUnix bool
}

type envFile struct {
	given      string // as given, with a leading "-" when optional
	path       string // absolute
	optional   bool
	credential string // LoadCredential= name, with Credential
}

func usage(format string, args ...any) error {
	return launcher.Errorf(launcher.ExitUsage, format, args...)
}

func newUnits(o Options) (*units, error) {
	u := &units{Options: o}
	if o.Config.Command {
		return nil, usage("a unit runs the server, not runapp exec")
	}
	if o.Config.NoEnvFiles {
		// runapp's command line cannot say it: ExecStart= would read .env.
		return nil, usage("a unit cannot run without env files; name an optional one, --env-file -FILE")
	}
	if o.Hardening == "" {
		u.Hardening = Strict
	}
	if !slices.Contains(Hardenings(), u.Hardening) {
		return nil, usage("--hardening %q: want strict, basic or none", o.Hardening)
	}
	if err := u.resolvePaths(); err != nil {
		return nil, err
	}
	if err := u.checkNames(); err != nil {
		return nil, err
	}
	if err := u.checkListen(); err != nil {
		return nil, err
	}
	if err := u.resolveEnvFiles(); err != nil {
		return nil, err
	}
	for _, a := range o.Config.Args {
		if why := printable(a); why != "" {
			return nil, usage("server argument %q %s", a, why)
		}
	}
	if err := u.readServer(); err != nil {
		return nil, err
	}
	return u, u.resolveWritable()
}

// resolvePaths makes the configuration's paths absolute as the launcher
// would, and checks that each can be written in a unit.
func (u *units) resolvePaths() error {
	c := &u.Config
	if err := checkAbs("--app-dir", c.AppDir); err != nil {
		return err
	}
	c.AppDir = filepath.Clean(c.AppDir)
	if err := checkAbs("runapp's path", u.Runapp); err != nil {
		return err
	}
	// systemd refuses to run a path with quotes or backslashes, and would
	// expand "$" in argv[0] but not in the path it runs.
	if strings.ContainsAny(u.Runapp, "\"'\\$") {
		return usage("runapp's path %q has a quote, backslash or $, which systemd cannot run; install runapp elsewhere, e.g. /usr/local/bin/runapp", u.Runapp)
	}
	rel := func(flag string, p *string) error {
		if !filepath.IsAbs(*p) {
			*p = filepath.Join(c.AppDir, *p)
		}
		*p = filepath.Clean(*p)
		return checkAbs(flag, *p)
	}
	if c.Venv != "" {
		if err := rel("--venv", &c.Venv); err != nil {
			return err
		}
	}
	c.PythonPath = slices.Clone(c.PythonPath)
	for i := range c.PythonPath {
		if err := rel("--pythonpath", &c.PythonPath[i]); err != nil {
			return err
		}
	}
	if strings.Contains(c.Server, "/") {
		if err := rel("--server", &c.Server); err != nil {
			return err
		}
	} else if why := printable(c.Server); why != "" {
		return usage("--server %q %s", c.Server, why)
	}
	for _, w := range u.Writable {
		if err := checkAbs("--writable", w); err != nil {
			return err
		}
	}
	return nil
}

func checkAbs(flag, p string) error {
	if !filepath.IsAbs(p) {
		return usage("%s %q is not an absolute path", flag, p)
	}
	if why := literal(p); why != "" {
		return usage("%s %q %s", flag, p, why)
	}
	return nil
}

// userName reports whether s is a user or group name systemd accepts in
// User= and Group=: [A-Za-z_][A-Za-z0-9_.-]*. Hand-written, not a regexp:
// the regexp package's initialisation is a measurable part of every launch.
func userName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '.' || c == '-')) {
			return false
		}
	}
	return s != ""
}

func (u *units) checkNames() error {
	u.name = strings.TrimSuffix(u.Name, ".service")
	if !validUnitName(u.name+".service") || strings.Contains(u.name, "@") {
		return usage("unit name %q is not valid: use letters, digits and :-_.\\ (see systemd.unit(5)); pick one with --name", u.Name)
	}
	for _, list := range []struct {
		flag  string
		units []string
	}{{"--after", u.After}, {"--wants", u.Wants}} {
		for _, n := range list.units {
			if !validUnitName(n) {
				return usage("%s %q is not a unit name like postgresql.service", list.flag, n)
			}
		}
	}
	if u.User == "" {
		return usage("no user given: without User= systemd runs the app as root")
	}
	for _, n := range []struct{ flag, name string }{{"--user", u.User}, {"--group", u.Group}} {
		if n.name != "" && (!userName(n.name) || len(n.name) > 256) {
			return usage("%s %q is not a valid user or group name", n.flag, n.name)
		}
	}
	u.Description = strings.TrimSpace(u.Description)
	if why := literal(u.Description); why != "" {
		return usage("--description %q %s", u.Description, why)
	}
	return nil
}

// unitTypes are the suffixes of systemd's unit types.
var unitTypes = []string{"service", "socket", "target", "device", "mount", "automount", "swap", "timer", "path", "slice", "scope"}

// validUnitName is systemd's unit_name_is_valid for plain and instance
// names (a template is not something to depend on).
func validUnitName(n string) bool {
	dot := strings.LastIndexByte(n, '.')
	if n == "" || len(n) > 255 || dot <= 0 || !slices.Contains(unitTypes, n[dot+1:]) {
		return false
	}
	prefix, instance, isInstance := strings.Cut(n[:dot], "@")
	if prefix == "" || (isInstance && instance == "") {
		return false
	}
	valid := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(`:-_.\`, r)
	}
	return strings.IndexFunc(prefix, func(r rune) bool { return !valid(r) }) < 0 &&
		strings.IndexFunc(instance, func(r rune) bool { return !valid(r) && r != '@' }) < 0
}

// checkListen accepts a port, ADDR:PORT with a numeric address (systemd
// resolves no host names), or an absolute unix socket path.
func (u *units) checkListen() error {
	l := u.Listen
	switch {
	case l == "":
		return nil
	case strings.HasPrefix(l, "/"):
		if err := checkAbs("--socket", l); err != nil {
			return err
		}
		// sun_path holds 108 bytes with the terminating NUL.
		if len(l) > 107 {
			return usage("--socket %q is longer than a unix socket path may be (107 bytes)", l)
		}
		u.listenUnix = true
		return nil
	}
	if !tcpListen(l) {
		return usage("--socket %q: want a port from 1 to 65535, ADDR:PORT with a numeric address ([::1]:8000 for IPv6) or an absolute unix socket path", l)
	}
	return nil
}

// credentialName makes a credential name out of a file name: characters
// other than those of a unit name, which are also safe unquoted in
// ExecStart=, become "_".
func credentialName(file string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '.' || r == '-' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, file)
}

func (u *units) resolveEnvFiles() error {
	used := map[string]bool{}
	for _, ref := range launcher.EnvFiles(u.Config.AppDir, u.Config.EnvFiles) {
		f := envFile{given: ref.Given, path: filepath.Clean(ref.Path), optional: ref.Optional}
		if err := checkAbs("--env-file", f.path); err != nil {
			return err
		}
		if u.Credential {
			if f.optional {
				return usage("--credential: env file %s is optional, but a credential must exist when the service starts; drop the leading - or --credential", f.path)
			}
			base := strings.TrimLeft(credentialName(filepath.Base(f.path)), ".")
			if base == "" {
				base = "env"
			}
			name := base
			for i := 2; used[name]; i++ {
				name = fmt.Sprintf("%s-%d", base, i)
			}
			used[name] = true
			f.credential = name
		}
		u.envFiles = append(u.envFiles, f)
	}
	return nil
}

// resolveWritable collects the paths strict hardening must leave writable:
// --writable and the directories of the server's unix sockets.
func (u *units) resolveWritable() error {
	u.writable = slices.Clone(u.Writable)
	if u.args == nil || u.Listen != "" {
		return nil
	}
	for _, b := range u.args.Binds {
		if b.Unix == "" {
			continue
		}
		dir, rel := socketDir(b.Unix, u.Config.AppDir)
		if u.Hardening != None && (dir == "/tmp" || dir == "/var/tmp" || strings.HasPrefix(dir, "/tmp/") || strings.HasPrefix(dir, "/var/tmp/")) {
			return usage("%s binds %s, but with PrivateTmp= no other program sees the service's /tmp; bind under /run/%s/ instead, or use --socket", u.server.Name, b.Addr, u.name)
		}
		if why := literal(dir); why != "" {
			return usage("%s binds %q, whose directory %s", u.server.Name, b.Addr, why)
		}
		if rel != "" {
			u.runtimeDirs = append(u.runtimeDirs, rel)
		} else {
			u.writable = append(u.writable, dir)
		}
	}
	return nil
}

// render serializes opts under a comment naming the file, and checks that
// every value reads back as written.
func render(file string, opts []*unit.UnitOption) (string, error) {
	for _, o := range opts {
		if why := literal(o.Value); why != "" {
			return "", usage("cannot write %s=%s: the value %s", o.Name, o.Value, why)
		}
	}
	body, err := io.ReadAll(unit.Serialize(opts))
	if err != nil {
		return "", err
	}
	head := "# " + file + ", written by runapp unit: regenerate it rather than edit it.\n"
	if name, ok := strings.CutSuffix(file, ".socket"); ok {
		head += "# While it listens, a stopped " + name + ".service starts again on the next\n" +
			"# connection: stop both with systemctl stop " + name + ".socket " + name + ".service\n"
	}
	return head + string(body), nil
}
