// Package running reads what systemd and the kernel say about a service as
// it runs now (its state, main process, that process's initial environment
// and command line), works out the environment a start would give it, and
// compares the two with a launcher plan. It only reads: package deploy
// acts on what it finds, and check warns about it.
//
// systemd is asked over D-Bus (with busctl, see Connect), which gives its
// state as values: the unit's Environment= and its Exec*= command lines as
// lists, specifiers already expanded, the manager's environment as
// assignments. systemctl's output is written for people, and its quoting
// is not a format to parse.
package running

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runapp/runapp/internal/sdenv"
	"github.com/runapp/runapp/launcher"
)

// Systemctl runs systemctl with args and returns its standard output: what
// deploy does to a service, a command the operator can run by hand. A
// variable so that tests can stand in for systemd.
var Systemctl = func(ctx context.Context, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "systemctl", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return out, fmt.Errorf("systemctl %s: %s", strings.Join(args, " "), msg)
	}
	return out, nil
}

// ProcRoot is where /proc is; tests point it at a directory of their own.
var ProcRoot = "/proc"

// Command is one command line of an Exec*= option, as systemd runs it:
// specifiers expanded, $VARIABLES not (systemd expands those when it runs
// the command).
type Command struct {
	Path string
	Argv []string
}

// EnvFile is one EnvironmentFile=; Optional is its "-" prefix.
type EnvFile struct {
	Path     string
	Optional bool
}

// Service is a service unit as it runs now.
type Service struct {
	Unit                              string
	LoadState, ActiveState, SubState  string
	NeedDaemonReload                  bool   // the unit's files changed since systemd loaded them
	InvocationID                      string // as the journal's _SYSTEMD_INVOCATION_ID
	FragmentPath                      string
	DropInPaths, TriggeredBy          []string
	ExecStart, ExecReload             []Command
	User                              string // User=, specifiers expanded
	Environment                       []string
	EnvironmentFiles                  []EnvFile
	UnsetEnvironment, PassEnvironment []string
	// Credentials are the sources of LoadCredential=, by the path the
	// service reads each at.
	Credentials map[string]string
	// Manager is the service manager's environment (systemctl
	// set-environment changes it), which every service starts from.
	Manager []string
	// MainPID is the main process, 0 when there is none; Environ and
	// Cmdline are its initial environment and its command line; Started
	// is when systemd started it.
	MainPID int
	Environ []string
	Cmdline []string
	Started time.Time
	// TimeoutStop is the unit's TimeoutStopSec=: how long a stop may take.
	TimeoutStop time.Duration
}

// Active says whether the service runs: active or reloading, with a main
// process.
func (s *Service) Active() bool {
	return (s.ActiveState == "active" || s.ActiveState == "reloading") && s.MainPID > 0
}

// Sockets are the socket units that start the service.
func (s *Service) Sockets() []string {
	var socks []string
	for _, u := range s.TriggeredBy {
		if strings.HasSuffix(u, ".socket") {
			socks = append(socks, u)
		}
	}
	return socks
}

// UnitFiles are the files systemd read the unit from.
func (s *Service) UnitFiles() []string {
	if s.FragmentPath == "" {
		return s.DropInPaths
	}
	return append([]string{s.FragmentPath}, s.DropInPaths...)
}

// readProc reads the main process's environment and command line (which
// takes root, or the service's user).
func (s *Service) readProc() error {
	if s.MainPID <= 0 {
		return nil
	}
	pid := strconv.Itoa(s.MainPID)
	env, err := os.ReadFile(ProcRoot + "/" + pid + "/environ")
	if err != nil {
		return fmt.Errorf("cannot read the environment of %s's main process %s: %w", s.Unit, pid, err)
	}
	s.Environ = split0(env)
	cmdline, err := os.ReadFile(ProcRoot + "/" + pid + "/cmdline")
	if err != nil {
		return fmt.Errorf("cannot read the command line of %s's main process %s: %w", s.Unit, pid, err)
	}
	s.Cmdline = split0(cmdline)
	return nil
}

func split0(b []byte) []string {
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

// perInvocation are variables systemd gives each run of a service its own
// value of; they say nothing about a change of configuration.
var perInvocation = []string{
	"INVOCATION_ID", "JOURNAL_STREAM", "SYSTEMD_EXEC_PID", "NOTIFY_SOCKET",
	"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "WATCHDOG_PID", "WATCHDOG_USEC",
	"MANAGERPID", "MAINPID", "TRIGGER_UNIT", "TRIGGER_PATH", "TRIGGER_TIMER_REALTIME_USEC",
	"TRIGGER_TIMER_MONOTONIC_USEC", "MONITOR_SERVICE_RESULT", "MONITOR_EXIT_CODE",
	"MONITOR_EXIT_STATUS", "MONITOR_INVOCATION_ID", "MONITOR_UNIT",
}

// fromUnit are variables systemd sets for a service from its unit
// (User=, RuntimeDirectory=, LoadCredential=, ...): the running process's
// values are the ones a restart would give it as long as the unit is the
// same, which is judged apart.
var fromUnit = []string{
	"HOME", "USER", "LOGNAME", "SHELL", "RUNTIME_DIRECTORY", "STATE_DIRECTORY",
	"CACHE_DIRECTORY", "LOGS_DIRECTORY", "CONFIGURATION_DIRECTORY",
	"CREDENTIALS_DIRECTORY", "PIDFILE", "TERM", "LOG_NAMESPACE",
}

// Inherited is the environment systemd would give runapp if the service
// started now with the same unit, built as systemd 252's exec_child does:
// the manager's environment, then what systemd sets for the service, the
// variables of PassEnvironment= (from systemd's own environment), the
// unit's Environment=, its EnvironmentFile= files read now, each later one
// winning, and UnsetEnvironment= applied last. What systemd sets and
// passes are the running process's values: those a restart gives again as
// long as the unit is the same, which is judged apart. The plan built from
// it is what a restart would run.
//
// An EnvironmentFile= that cannot be read is an error: a start would fail
// on it (or, when runapp may not read it, nothing can be told).
func (s *Service) Inherited() ([]string, error) {
	var own, passed []string
	for _, kv := range s.Environ {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case slices.Contains(fromUnit, k) || slices.Contains(perInvocation, k):
			own = append(own, kv)
		case slices.Contains(s.PassEnvironment, k):
			passed = append(passed, kv)
		}
	}
	var files []string
	for _, f := range s.EnvironmentFiles {
		env, err := sdenv.ReadFile(f.Path)
		switch {
		case f.Optional && errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, fmt.Errorf("EnvironmentFile=%s: %w", f.Path, err)
		}
		files = sdenv.Merge(files, env)
	}
	return sdenv.Unset(sdenv.Merge(s.Manager, own, passed, s.Environment, files), s.UnsetEnvironment), nil
}

// EnvironReadable says why the main process's initial environment cannot
// be read as assignments, nil when it can: a process title set with
// setproctitle (gunicorn uses it when installed) overwrites that memory,
// and /proc/PID/environ then holds the title and NUL bytes.
func (s *Service) EnvironReadable() error {
	for _, kv := range s.Environ {
		if !strings.Contains(kv, "=") {
			return errors.New("its process title overwrote it: gunicorn does with setproctitle installed, unless SPT_NOENV is set")
		}
	}
	if len(s.Environ) == 0 {
		return errors.New("it is empty")
	}
	return nil
}

// Change is a variable whose value differs between the plan and the
// running process. No value is kept: only where the planned one comes from.
type Change struct {
	Name  string
	How   string // "changed", "added" or "removed"
	Where string // the planned value's origin (".env:4", "runapp"), "" when removed
}

func (c Change) String() string {
	if c.Where == "" {
		return c.Name + " " + c.How
	}
	return c.Name + " " + c.How + " (" + c.Where + ")"
}

// EnvChanges lists, by name, how plan's environment differs from the
// running process's initial one, leaving out what each run gets anew.
func (s *Service) EnvChanges(plan *launcher.Plan) []Change {
	have := map[string]string{}
	for _, kv := range s.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			have[k] = v
		}
	}
	var changes []Change
	planned := map[string]bool{}
	for _, v := range plan.Env {
		planned[v.Name] = true
		if slices.Contains(perInvocation, v.Name) {
			continue
		}
		old, ok := have[v.Name]
		switch {
		case !ok:
			changes = append(changes, Change{v.Name, "added", v.Where()})
		case old != v.Value:
			changes = append(changes, Change{v.Name, "changed", v.Where()})
		}
	}
	for k := range have {
		if !planned[k] && !slices.Contains(perInvocation, k) {
			changes = append(changes, Change{Name: k, How: "removed"})
		}
	}
	slices.SortFunc(changes, func(a, b Change) int { return strings.Compare(a.Name, b.Name) })
	return changes
}

// SameCommand says whether the running process runs plan's program with
// plan's arguments. The kernel runs a #! script as its interpreter with the
// script's path and the arguments after it, so the command line may start
// with the interpreter. It returns an error when the command line cannot
// be told: the process changed it (gunicorn does with setproctitle).
func (s *Service) SameCommand(plan *launcher.Plan) (bool, error) {
	argv, have := plan.Argv, s.Cmdline
	if len(have) == 0 || len(argv) == 0 {
		return false, errors.New("the running process has no command line")
	}
	if len(have) < len(argv) {
		return false, commandChanged(have)
	}
	tail := have[len(have)-len(argv)+1:]
	first := have[len(have)-len(argv)]
	if first != plan.Program && first != argv[0] {
		return false, commandChanged(have)
	}
	return slices.Equal(tail, argv[1:]), nil
}

func commandChanged(have []string) error {
	if len(have) == 1 && strings.Contains(have[0], " ") {
		return errors.New("the running process has rewritten its command line (a process title)")
	}
	return nil
}

// ChangedSince lists those of paths modified after the main process
// started (a file that cannot be read counts as changed).
func (s *Service) ChangedSince(paths ...string) []string {
	var changed []string
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil || fi.ModTime().After(s.Started) {
			changed = append(changed, p)
		}
	}
	return changed
}

// ReloadSendsHUP says whether one of the unit's ExecReload= commands sends
// SIGHUP to the main process with kill(1), in any of the forms kill takes:
// -HUP, -SIGHUP, -1, -s HUP, -s SIGHUP, --signal HUP, to $MAINPID (which
// systemd expands when it runs the command).
func (s *Service) ReloadSendsHUP() bool {
	for _, c := range s.ExecReload {
		if SendsHUP(c.Path, c.Argv) {
			return true
		}
	}
	return false
}

// SendsHUP says whether the command path with argv (argv[0] its name)
// sends SIGHUP to $MAINPID with kill(1); see ReloadSendsHUP.
func SendsHUP(path string, argv []string) bool {
	if filepath.Base(path) != "kill" || len(argv) < 2 {
		return false
	}
	hup := func(sig string) bool {
		sig = strings.TrimPrefix(strings.ToUpper(sig), "SIG")
		return sig == "HUP" || sig == "1"
	}
	signal, main := false, false
	for i := 1; i < len(argv); i++ {
		switch a := argv[i]; {
		case a == "$MAINPID" || a == "${MAINPID}":
			main = true
		case (a == "-s" || a == "--signal") && i+1 < len(argv):
			i++
			signal = hup(argv[i])
		case strings.HasPrefix(a, "--signal="):
			signal = hup(strings.TrimPrefix(a, "--signal="))
		case strings.HasPrefix(a, "-") && a != "--":
			signal = hup(a[1:])
		}
	}
	return signal && main
}
