package launcher

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/runapp/runapp/envfile"
)

// Origin says where a variable's value came from.
type Origin int

const (
	Inherited Origin = iota // runapp's own environment
	FromFile                // an env file
	ByRunapp                // computed by runapp (VIRTUAL_ENV, PATH, PYTHONPATH)
)

// Var is one variable of the planned environment.
type Var struct {
	Name   string
	Value  string
	Origin Origin
	File   string // FromFile: the env file as given on the command line
	Line   int    // FromFile: its line
	// Own is the leading part of Value that runapp itself put there (a path
	// it computed); the rest came from elsewhere and is masked when shown.
	Own string
}

// Where names the origin of v: "inherited", ".env:12" or "runapp".
func (v Var) Where() string {
	switch v.Origin {
	case FromFile:
		return fmt.Sprintf("%s:%d", v.File, v.Line)
	case ByRunapp:
		return "runapp"
	}
	return "inherited"
}

// Plan is everything runapp will do at exec: the one value every subcommand
// shares.
type Plan struct {
	Program string   // absolute path of the program to execve
	Argv    []string // argv, argv[0] as the user named the program
	Dir     string   // absolute working directory
	Venv    string   // absolute virtualenv path, "" when none
	Env     []Var    // inherited variables as they came, then new ones in env-file order
	// Process is the Procfile process type the plan runs (Config.Process),
	// "" when it runs the server or a command; Procfile is then the
	// Procfile's absolute path and Line the process's line in it.
	Process  string
	Procfile string
	Line     int

	// replaced holds, by name, the definitions each variable overrides. Not
	// in Var: few variables have any, and with a 10,000-line env file every
	// byte of Var counts 10,000 times in the peak memory of the launch.
	replaced map[string][]string
}

// Replaced lists, oldest first, the definitions the variable called name
// overrides ("inherited", ".env:3"), so duplicates can be shown.
func (p *Plan) Replaced(name string) []string {
	return p.replaced[name]
}

// Environ returns the environment in "NAME=value" form, in the plan's order.
// The strings share one allocation: each new size of allocation costs a
// process that execs at once fresh heap pages to fault in.
func (p *Plan) Environ() []string {
	n := 0
	for _, v := range p.Env {
		n += len(v.Name) + 1 + len(v.Value)
	}
	var b strings.Builder
	b.Grow(n)
	for _, v := range p.Env {
		b.WriteString(v.Name)
		b.WriteByte('=')
		b.WriteString(v.Value)
	}
	all := b.String()
	env := make([]string, len(p.Env))
	for i, v := range p.Env {
		n := len(v.Name) + 1 + len(v.Value)
		env[i], all = all[:n], all[n:]
	}
	return env
}

// Lookup returns the variable called name.
func (p *Plan) Lookup(name string) (Var, bool) {
	for _, v := range p.Env {
		if v.Name == name {
			return v, true
		}
	}
	return Var{}, false
}

// defaultPath is systemd's default PATH, used when none is inherited so that
// prepending the virtualenv never leaves an empty entry (the current
// directory) behind.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Build computes the plan for cfg from the inherited environment environ
// (as os.Environ returns it). It reads the env files and looks at the file
// system but changes nothing. Errors are *Error with the exit code to use.
// It does only what exec needs: Verify checks the rest.
func Build(cfg Config, environ []string) (*Plan, error) {
	p, failures := build(&cfg, environ, false)
	if len(failures) > 0 {
		return nil, failures[0].Err
	}
	return p, nil
}

// Step is the part of building a plan that a Failure comes from.
type Step string

// The steps of building a plan, in order.
const (
	StepAppDir     Step = "appdir"
	StepEnvFiles   Step = "envfile"
	StepVenv       Step = "venv"
	StepPythonPath Step = "pythonpath"
	StepProcfile   Step = "procfile" // the Procfile, its process or its command
	StepProgram    Step = "program"  // not found, or found but cannot be run
	StepApp        Step = "app"      // no application given and none (or several) found
)

// Failure is what stopped one step of building a plan.
type Failure struct {
	Step Step
	Err  error // an *Error
}

// Inspect builds the plan as Build does, for runapp check, which reports
// every problem rather than the first: where Build stops, Inspect records the
// failure and carries on. Env files are applied only when all of them are
// accepted; an unusable virtualenv is left out; a --pythonpath that is not a
// directory leaves PYTHONPATH as inherited; a program that cannot be run is
// still named in Program, one that is not found leaves Program empty; the
// WSGI module is looked for either way; a Procfile or process that cannot
// be read or split leaves Program empty. The plan is nil only when the app
// directory is unusable or the configuration contradicts itself (--process
// with --server or arguments).
func Inspect(cfg Config, environ []string) (*Plan, []Failure) {
	return build(&cfg, environ, true)
}

func build(cfg *Config, environ []string, keepGoing bool) (*Plan, []Failure) {
	var failures []Failure
	stop := func(step Step, err error) bool {
		failures = append(failures, Failure{step, err})
		return !keepGoing
	}
	if err := cfg.usage(); err != nil {
		return nil, []Failure{{StepProcfile, err}}
	}
	appDir, err := AppDirectory(cfg.AppDir)
	if err != nil {
		return nil, []Failure{{StepAppDir, err}}
	}
	var files []envFile
	if !cfg.NoEnvFiles {
		files, err = readFiles(appDir, cfg.EnvFiles)
		if err != nil && stop(StepEnvFiles, err) {
			return nil, failures
		}
	}
	env := applyFiles(environ, files)
	p := &Plan{Dir: appDir}
	if p.Venv, err = virtualenv(appDir, cfg.Venv, env); err != nil && stop(StepVenv, err) {
		return nil, failures
	}
	if p.Venv != "" {
		activate(env, p.Venv)
	}
	roots, err := pythonPath(appDir, cfg.PythonPath, env)
	if err != nil && stop(StepPythonPath, err) {
		return nil, failures
	}
	if p.command(cfg, env, roots, keepGoing, stop) {
		return nil, failures
	}
	p.Env, p.replaced = env.list(), env.replaced
	return p, failures
}

// AppDirectory returns the absolute path of the app directory dir names
// ("" for the working directory), or why it cannot be used.
func AppDirectory(dir string) (string, error) {
	if dir == "" || dir == "." {
		// The working directory: a directory, or getcwd fails.
		wd, err := os.Getwd()
		if err != nil {
			return "", Errorf(ExitConfig, "cannot use app directory: %w", err)
		}
		return wd, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", Errorf(ExitConfig, "cannot use app directory: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", Errorf(ExitConfig, "cannot use app directory: %w", err)
	}
	if !fi.IsDir() {
		return "", Errorf(ExitConfig, "app directory %s is not a directory", abs)
	}
	return abs, nil
}

// env is the environment being built. It keeps a deterministic order,
// inherited variables as they came, then new names in the order the env
// files set them, so the plan needs no sort: with a 10,000-line env file,
// sorting was the largest part of Build.
type env struct {
	index    map[string]int      // name -> position in vars
	vars     []Var               // a removed variable keeps its place with Name ""
	replaced map[string][]string // see Plan.Replaced
}

// newEnv starts from environ (as os.Environ returns it), with room for
// extra more variables and the three runapp sets, so that with a big env
// file the slice is never copied to grow.
func newEnv(environ []string, extra int) *env {
	extra += 3 // VIRTUAL_ENV, PATH, PYTHONPATH
	e := &env{index: make(map[string]int, len(environ)+extra), vars: make([]Var, 0, len(environ)+extra)}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			continue
		}
		if _, dup := e.index[name]; dup {
			continue // getenv(3) returns the first
		}
		e.index[name] = len(e.vars)
		e.vars = append(e.vars, Var{Name: name, Value: value, Origin: Inherited})
	}
	return e
}

func (e *env) lookup(name string) (*Var, bool) {
	if i, ok := e.index[name]; ok {
		return &e.vars[i], true
	}
	return nil, false
}

func (e *env) get(name string) (string, bool) {
	if v, ok := e.lookup(name); ok {
		return v.Value, true
	}
	return "", false
}

// set replaces name's value, remembering what it replaced.
func (e *env) set(v Var) {
	old, ok := e.lookup(v.Name)
	if !ok {
		e.index[v.Name] = len(e.vars)
		e.vars = append(e.vars, v)
		return
	}
	if e.replaced == nil {
		e.replaced = map[string][]string{}
	}
	e.replaced[v.Name] = append(e.replaced[v.Name], old.Where())
	*old = v
}

func (e *env) remove(name string) {
	if i, ok := e.index[name]; ok {
		e.vars[i] = Var{}
		delete(e.index, name)
		delete(e.replaced, name)
	}
}

// list returns the variables in order.
func (e *env) list() []Var {
	if len(e.index) == len(e.vars) {
		return e.vars // none removed
	}
	vars := make([]Var, 0, len(e.index))
	for _, v := range e.vars {
		if v.Name != "" {
			vars = append(vars, v)
		}
	}
	return vars
}

// envFile is an env file read, with its name as given.
type envFile struct {
	given string
	*envfile.File
}

// EnvFileRef is an env file the configuration names.
type EnvFileRef struct {
	Given    string // as given to --env-file, with a leading "-" when optional
	Name     string // as given, without the leading "-"
	Path     string // Name, joined to the app directory unless absolute
	Optional bool   // a missing file is skipped
}

// EnvFiles resolves the env files named (--env-file), or the default .env
// when none is, against the absolute app directory appDir, as Build reads
// them.
func EnvFiles(appDir string, names []string) []EnvFileRef {
	if len(names) == 0 {
		names = []string{".env"}
	}
	refs := make([]EnvFileRef, len(names))
	for i, given := range names {
		name := strings.TrimPrefix(given, "-")
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(appDir, path)
		}
		refs[i] = EnvFileRef{Given: given, Name: name, Path: path, Optional: name != given}
	}
	return refs
}

// readFiles reads every env file before any is applied, so that all refused
// lines of all files are reported together.
func readFiles(appDir string, names []string) ([]envFile, error) {
	var files []envFile
	var problems []envfile.Problem
	for _, ref := range EnvFiles(appDir, names) {
		f, err := envfile.Read(ref.Path)
		if ef, ok := envfile.AsError(err); ok {
			problems = append(problems, ef.Problems...)
			continue
		}
		if err != nil {
			if ref.Optional && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if errors.Is(err, fs.ErrNotExist) {
				return nil, Errorf(ExitConfig, "env file %s does not exist; create it, or write --env-file -%s to make it optional", ref.Path, ref.Name)
			}
			return nil, &Error{Code: ExitConfig, Err: err}
		}
		files = append(files, envFile{ref.Name, f})
	}
	if len(problems) > 0 {
		return nil, &Error{Code: ExitConfig, Err: &envfile.Error{Problems: problems}}
	}
	return files, nil
}

// applyFiles applies the env files' assignments in order: a later one
// replaces an earlier one, as `set -a; source` and EnvironmentFile= do.
func applyFiles(environ []string, files []envFile) *env {
	n := 0
	for _, f := range files {
		n += len(f.Entries)
	}
	e := newEnv(environ, n)
	for _, f := range files {
		for _, en := range f.Entries {
			e.set(Var{Name: en.Name, Value: en.Value, Origin: FromFile, File: f.given, Line: en.Line})
		}
	}
	return e
}

// virtualenv finds the virtualenv: --venv, else VIRTUAL_ENV after the env
// files, else .venv or venv in the app directory.
func virtualenv(appDir, flag string, e *env) (string, error) {
	what := "--venv"
	dir := flag
	if dir == "" {
		if v, ok := e.lookup("VIRTUAL_ENV"); ok && v.Value != "" {
			dir, what = v.Value, "VIRTUAL_ENV ("+v.Where()+")"
		}
	}
	if dir == "" {
		for _, name := range []string{".venv", "venv"} {
			candidate := filepath.Join(appDir, name)
			if isVenv(candidate) {
				return candidate, nil
			}
			// A virtualenv half made or half removed: falling back to no
			// virtualenv would run a server from PATH without a word.
			if _, err := os.Stat(filepath.Join(candidate, "pyvenv.cfg")); err == nil {
				return "", Errorf(ExitConfig, "%s has a pyvenv.cfg but no bin/python; recreate it with: python3 -m venv --clear %s", candidate, candidate)
			}
		}
		return "", nil
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(appDir, dir)
	}
	dir = filepath.Clean(dir)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		// The path is not printed when it came from an env file: values are
		// never printed.
		if flag != "" {
			return "", Errorf(ExitConfig, "virtualenv %s given by --venv does not exist; create it with: python3 -m venv %s", dir, dir)
		}
		return "", Errorf(ExitConfig, "the virtualenv named by %s does not exist; create it, or fix or remove the variable", what)
	}
	if !isVenv(dir) {
		return "", Errorf(ExitConfig, "the virtualenv named by %s has no bin/python; recreate it with: python3 -m venv DIR", what)
	}
	return dir, nil
}

func isVenv(dir string) bool {
	// Lstat: a virtualenv whose Python was removed (bin/python a dangling
	// link) is still the one to use, so that the error names it instead of
	// runapp falling back to a server on PATH.
	_, err := os.Lstat(filepath.Join(dir, "bin", "python"))
	return err == nil
}

// activate does what a virtualenv's bin/activate does to the environment.
func activate(e *env, venv string) {
	bin := filepath.Join(venv, "bin")
	e.set(Var{Name: "VIRTUAL_ENV", Value: venv, Origin: ByRunapp, Own: venv})
	path, ok := e.get("PATH")
	if !ok {
		path = defaultPath
	}
	// No empty entries: each is the working directory, which PATH= (or a
	// PATH ending in ":") would otherwise put after the virtualenv's bin.
	entries := []string{bin}
	for _, p := range strings.Split(path, ":") {
		if p != bin && p != "" {
			entries = append(entries, p)
		}
	}
	e.set(Var{Name: "PATH", Value: strings.Join(entries, ":"), Origin: ByRunapp, Own: bin})
	e.remove("PYTHONHOME")
}

// searchPath is where to look for the application: runapp's own PYTHONPATH
// directories, which may be named in messages, and the other entries, which
// came from the environment or an env file and are not.
type searchPath struct{ own, other []string }

// pythonPath puts the --pythonpath directories (default: src, when it exists)
// in front of PYTHONPATH, without empty entries (an empty entry puts the
// working directory on sys.path) or duplicates. It returns the directories
// to search for the application.
func pythonPath(appDir string, dirs []string, e *env) (searchPath, error) {
	var own []string
	if len(dirs) == 0 {
		src := filepath.Join(appDir, "src")
		if fi, err := os.Stat(src); err == nil && fi.IsDir() {
			own = []string{src}
		}
	}
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			d = filepath.Join(appDir, d)
		}
		d = filepath.Clean(d)
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			return searchPath{}, Errorf(ExitConfig, "--pythonpath %s is not a directory", d)
		}
		own = appendNew(own, d)
	}
	existing, _ := e.get("PYTHONPATH")
	search := searchPath{own: own}
	for _, p := range splitPath(appDir, existing) {
		if !slices.Contains(own, p) {
			search.other = append(search.other, p)
		}
	}
	if len(own) == 0 {
		return search, nil
	}
	entries := own
	for _, p := range strings.Split(existing, ":") {
		if p != "" {
			entries = appendNew(entries, p)
		}
	}
	e.set(Var{Name: "PYTHONPATH", Value: strings.Join(entries, ":"), Origin: ByRunapp, Own: strings.Join(own, ":")})
	return search, nil
}

// splitPath returns the non-empty entries of a PYTHONPATH, made absolute
// against the app directory, which is where the program will run.
func splitPath(appDir, path string) []string {
	var roots []string
	for _, p := range strings.Split(path, ":") {
		if p == "" {
			continue
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(appDir, p)
		}
		roots = appendNew(roots, filepath.Clean(p))
	}
	return roots
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
