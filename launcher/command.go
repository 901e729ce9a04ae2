package launcher

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/server"
)

// command fills Program and Argv: the server with its arguments, or for
// runapp exec the given command. Each failure goes to stop, which says
// whether to give up (Build) or carry on (Inspect); command returns that.
// checkScript checks a script's #! interpreter too, which Exec otherwise
// does only if execve fails.
func (p *Plan) command(cfg *Config, e *env, search searchPath, checkScript bool, stop func(Step, error) bool) bool {
	name := cfg.Server
	args := cfg.Args
	switch {
	case cfg.Process != "":
		argv, err := p.process(cfg, e)
		if err != nil {
			return stop(StepProcfile, err)
		}
		name, args = argv[0], argv[1:]
	case cfg.Command:
		if len(args) == 0 {
			return stop(StepProgram, Errorf(ExitUsage, "no command given; usage: runapp exec [FLAGS] [--] COMMAND [ARGS...]"))
		}
		name, args = args[0], args[1:]
	case name == "":
		name = DefaultServer
	}
	path, err := resolve(name, p.Dir, p.Venv, e)
	if err == nil && checkScript {
		err = interpreter(path)
	}
	if err != nil && p.Process != "" {
		err = p.at(0, err)
	}
	if err != nil && stop(StepProgram, err) {
		return true
	}
	p.Program = path
	p.Argv = append([]string{name}, args...)
	// A Procfile's command that runs a server of the table gets the
	// server's rules, as serve gives them (the application found).
	if cfg.Command && cfg.Process == "" {
		return false
	}
	srv := server.Lookup(name)
	if srv == nil || srv.DjangoApp == "" {
		return false
	}
	// The server's own reading of its arguments decides whether they name
	// the application: options alone (--fd 3 from a socket unit,
	// --workers 2) do not. Arguments it would refuse are left for it to
	// say so.
	if len(args) > 0 {
		a, err := srv.ReadArgs(args)
		if err != nil || a.App != "" || a.AppFrom != "" {
			return false
		}
	}
	if srv.ConfFile != "" {
		if _, err := os.Stat(filepath.Join(p.Dir, srv.ConfFile)); err == nil {
			return false // it may name the application
		}
	}
	app, err := djangoApp(srv, p.Dir, search)
	if err != nil {
		return stop(StepApp, err)
	}
	p.Argv = append(p.Argv, app)
	return false
}

// resolve finds the program the way execvp would on the new PATH, except
// that a name with a slash is relative to the app directory, where the
// program will run, and the virtualenv's bin comes first. A path given that
// cannot be run is returned with its error (exit 126), so that runapp check
// can name it; a name not found, or found only without execute permission,
// gives "".
func resolve(name, dir, venv string, e *env) (string, error) {
	if strings.Contains(name, "/") {
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		fi, err := os.Stat(path)
		switch {
		case err != nil:
			return "", Errorf(ExitNotFound, "%s: not found", path)
		case fi.IsDir():
			return path, Errorf(ExitCannotRun, "%s is a directory, not a program", path)
		case unix.Access(path, unix.X_OK) != nil:
			return path, notExecutable(path)
		}
		return path, nil
	}
	var search []string
	if venv != "" {
		search = append(search, filepath.Join(venv, "bin"))
	}
	pathVar, ok := e.get("PATH")
	if !ok {
		pathVar = defaultPath
	}
	for _, d := range strings.Split(pathVar, ":") {
		if d == "" {
			d = "." // as execvp does
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		search = appendNew(search, d)
	}
	var notExec string
	for _, d := range search {
		path := filepath.Join(d, name)
		fi, err := os.Stat(path)
		if err != nil || fi.IsDir() {
			continue
		}
		if unix.Access(path, unix.X_OK) == nil {
			return path, nil
		}
		if notExec == "" {
			notExec = path // as execvp, go on looking for one that runs
		}
	}
	if notExec != "" {
		return "", notExecutable(notExec)
	}
	where := "PATH"
	if venv != "" {
		where = filepath.Join(venv, "bin") + " or PATH"
	}
	hint := ""
	if name == DefaultServer {
		hint = "; install it in the virtualenv, or name it with --server PATH"
	}
	return "", Errorf(ExitNotFound, "%s: not found in %s%s", name, where, hint)
}

func notExecutable(path string) error {
	return Errorf(ExitCannotRun, "%s is not executable; make it so with: chmod +x %s", path, path)
}

// Verify reports what would make Exec fail that can be seen without
// exec'ing and that Build leaves to Exec: a script whose #! interpreter
// cannot run.
func (p *Plan) Verify() error {
	if err := p.CheckSize(); err != nil {
		return err
	}
	return interpreter(p.Program)
}

// Linux's limits on what execve passes (fs/exec.c): one string with its
// NUL at most MAX_ARG_STRLEN; all strings and their pointers at most a
// quarter of the stack limit, but no more than 6 MiB and no less than
// 128 KiB.
const (
	maxArgStrlen = 32 * 4096
	stkLim       = 8 << 20
)

// CheckSize reports, as a configuration error, an environment and argument
// vector too large for execve (E2BIG), with the sizes and the env file that
// sets most of it. Exec calls it only after execve fails with E2BIG, so a
// launch pays nothing for it; env and check call it through Verify.
func (p *Plan) CheckSize() error {
	var rl unix.Rlimit
	limit := uint64(stkLim / 4)
	if unix.Getrlimit(unix.RLIMIT_STACK, &rl) == nil {
		limit = max(min(stkLim/4*3, rl.Cur/4), maxArgStrlen)
	}
	total := uint64(len(p.Program) + 1)
	for _, a := range p.Argv {
		total += uint64(len(a)+1) + 8
	}
	bySource := map[string]uint64{}
	for _, v := range p.Env {
		n := uint64(len(v.Name) + len(v.Value) + 2)
		total += n + 8
		if n > maxArgStrlen {
			return Errorf(ExitConfig, "%s (%s) is %d KiB long; Linux passes at most 128 KiB in one variable, so %s cannot be started; put the value in a file and pass the file's path",
				v.Name, v.Where(), n>>10, p.Program)
		}
		src := "the inherited environment"
		if v.Origin == FromFile {
			src = v.File
		}
		bySource[src] += n
	}
	if total <= limit {
		return nil
	}
	blame, most := "", uint64(0)
	for src, n := range bySource {
		if n > most || n == most && src < blame {
			blame, most = src, n
		}
	}
	return Errorf(ExitConfig, "the environment and arguments take %d KiB, and Linux passes at most %d KiB to a program (a quarter of the stack limit, ulimit -s), so %s cannot be started; %s sets %d KiB of it: make it smaller",
		total>>10, limit>>10, p.Program, blame, most>>10)
}

// interpreter checks that a script's #! interpreter can run, to say why in
// words when it cannot: a virtualenv moved or rebuilt against a removed
// Python leaves scripts whose execve fails with ENOENT about a file that
// exists, and systemd says 203/EXEC.
func interpreter(path string) error {
	interp, _, err := Shebang(path)
	if err != nil || interp == "" {
		return nil // execve will say what is wrong, if anything
	}
	if unix.Access(interp, unix.X_OK) != nil {
		return Errorf(ExitCannotRun, "%s starts with #!%s, which does not exist or cannot be run: the virtualenv was probably moved or its Python removed; recreate it (python3 -m venv --clear DIR) and reinstall its packages", path, interp)
	}
	return nil
}

// Shebang returns the interpreter named on a script's #! line and the
// optional argument after it, as the kernel splits them (the rest of the
// line, trimmed, is one argument). interp is "" for a file without a #!
// line.
func Shebang(path string) (interp, arg string, err error) {
	// Plain system calls rather than os.Open, whose first use sets up the
	// runtime's network poller: launch cost for nothing, just before an exec.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", "", &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	// The kernel reads at most 256 bytes of a #! line (BINPRM_BUF_SIZE); one
	// read of a regular file returns them all.
	buf := make([]byte, 256)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return "", "", &os.PathError{Op: "read", Path: path, Err: err}
	}
	buf = buf[:n]
	if !bytes.HasPrefix(buf, []byte("#!")) {
		return "", "", nil
	}
	line, _, _ := bytes.Cut(buf[2:], []byte("\n"))
	rest := strings.Trim(string(line), " \t")
	if i := strings.IndexAny(rest, " \t"); i >= 0 {
		return rest[:i], strings.TrimLeft(rest[i:], " \t"), nil
	}
	return rest, "", nil
}

// djangoApp finds the one Django project whose application srv serves by
// default (a */wsgi.py for gunicorn) directly under a PYTHONPATH root or
// the app directory, whose directory name can be imported, and returns the
// argument that names it. Directories from the environment or an env file
// are searched but not named in the error, which never shows a value.
func djangoApp(srv *server.Server, dir string, search searchPath) (string, error) {
	file := srv.AppFile()
	// "WSGI" for wsgi.py, "ASGI" for asgi.py: Django's names for both.
	kind := strings.ToUpper(strings.TrimSuffix(file, ".py"))
	named := appendNew(slices.Clone(search.own), dir)
	var found, apps []string
	for _, root := range append(slices.Clone(named), search.other...) {
		names, _ := listDir(root) // a root that can't be read has no module
		for _, name := range names {
			path := filepath.Join(root, name, file)
			if !identifier(name) || slices.Contains(found, path) {
				continue
			}
			if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
				found = append(found, path)
				apps = append(apps, srv.App(name))
			}
		}
	}
	switch len(found) {
	case 1:
		return apps[0], nil
	case 0:
		where := strings.Join(named, ", ")
		if n := len(search.other); n > 0 {
			where += fmt.Sprintf(" and %d more PYTHONPATH entries", n)
		}
		return "", Errorf(ExitConfig, "no application given and no Django %s module found (looked for */%s in %s); name it after --, e.g. runapp -- %s", kind, file, where, srv.App("project"))
	}
	return "", Errorf(ExitConfig, "no application given and several %s modules found (%s); name one after --, e.g. runapp -- %s", kind, strings.Join(apps, ", "), apps[0])
}

// identifier reports whether name can be a Python package name.
func identifier(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return name != ""
}

// listDir returns the names in a directory. Plain system calls rather than
// os.ReadDir, whose os.Open sets up the runtime's network poller: launch
// cost for nothing, just before an exec.
func listDir(path string) ([]string, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}
