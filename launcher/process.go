package launcher

import (
	"cmp"
	"errors"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/procfile"
)

// Port is the PORT foreman and honcho give the instance (from 0) of the
// process type at index (from 0) in the Procfile when the environment sets
// none: 5000, plus 100 for each process type before it, plus the instance.
// Build gives instance 0's to a process that runs alone.
func Port(index, instance int) int {
	return 5000 + 100*index + instance
}

// ProcfilePath is the absolute path of the Procfile cfg names, given the
// absolute app directory.
func ProcfilePath(appDir string, cfg Config) string {
	path := cmp.Or(cfg.Procfile, DefaultProcfile)
	if !filepath.IsAbs(path) {
		path = filepath.Join(appDir, path)
	}
	return path
}

// ReadProcfile reads the Procfile at path as Build does: within the
// reading limits of env files, and with errors that say how to fix them.
func ReadProcfile(path string) (*procfile.File, error) {
	// envfile's reader: plain system calls, a size limit, no FIFO.
	data, err := envfile.ReadBytes(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Errorf(ExitConfig, "no Procfile at %s; write one (a `name: command` line per process type), or name another with --procfile=FILE", path)
	}
	if err != nil {
		return nil, Errorf(ExitConfig, "cannot read Procfile: %w", err)
	}
	f, err := procfile.Parse(path, data)
	if err != nil {
		return nil, &Error{Code: ExitConfig, Err: err}
	}
	return f, nil
}

// usage refuses what contradicts --process: the mistakes of the command
// line, told before any file is read.
func (cfg *Config) usage() error {
	switch {
	case cfg.Process == "":
	case cfg.Server != "":
		return Errorf(ExitUsage, "--server and --process both name the program; the Procfile's command names it, so drop --server")
	case len(cfg.Args) > 0:
		return Errorf(ExitUsage, "--process runs the Procfile's command as written, so it takes no arguments (got %q); put them in the Procfile", cfg.Args[0])
	}
	return nil
}

// process reads the Procfile, sets PORT when the environment has none or
// cfg.Port is set, and returns the argv of the process type cfg.Process.
func (p *Plan) process(cfg *Config, e *env) ([]string, error) {
	path := ProcfilePath(p.Dir, *cfg)
	f, err := ReadProcfile(path)
	if err != nil {
		return nil, err
	}
	index := -1
	for i, proc := range f.Processes {
		if proc.Name == cfg.Process {
			index = i
		}
	}
	if index < 0 {
		return nil, Errorf(ExitConfig, "%s has no process %s (it has %s); add a line `%s: COMMAND`, or name one of those", path, cfg.Process, strings.Join(f.Names(), ", "), cfg.Process)
	}
	proc := f.Processes[index]
	p.Process, p.Procfile, p.Line = proc.Name, path, proc.Line
	if _, ok := e.get("PORT"); !ok || cfg.Port != 0 {
		port := strconv.Itoa(cmp.Or(cfg.Port, Port(index, 0)))
		e.set(Var{Name: "PORT", Value: port, Origin: ByRunapp, Own: port})
	}
	argv, err := proc.Argv(e.get)
	if err != nil {
		return nil, p.at(ExitConfig, err)
	}
	return argv, nil
}

// at puts the Procfile line of the plan's process before err's message,
// with code, or the code err has.
func (p *Plan) at(code int, err error) error {
	var e *Error
	if errors.As(err, &e) {
		code = e.Code
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "process "+p.Process+": ") {
		msg = "process " + p.Process + ": " + msg
	}
	return Errorf(code, "%s:%d: %s", p.Procfile, p.Line, msg)
}
