// Package running reads what systemd and the kernel say about a service as
// it runs now (its state, main process, that process's initial environment
// and command line) and compares it with a launcher plan. It only reads:
// package deploy acts on what it finds, and check warns about it.
//
// systemd is asked with systemctl, not over D-Bus: systemctl is wherever
// systemd is, its show output is a stable interface, and it costs the
// binary, which every launch of a server maps, no D-Bus library.
package running

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/launcher"
)

// Props are the properties Load asks systemd for.
var Props = []string{
	"Id", "LoadState", "ActiveState", "SubState", "Result", "MainPID",
	"NeedDaemonReload", "FragmentPath", "DropInPaths", "TriggeredBy",
	"ExecMainStartTimestampMonotonic", "StatusText", "Environment",
	"ExecReload", "ExecStart", "Type", "InvocationID",
}

// Systemctl runs systemctl with args and returns its standard output; a
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

// Show returns the properties of unit that systemctl show prints.
func Show(ctx context.Context, unit string, props ...string) (map[string]string, error) {
	args := []string{"show", unit}
	if len(props) > 0 {
		args = append(args, "-p", strings.Join(props, ","))
	}
	out, err := Systemctl(ctx, args...)
	if err != nil {
		return nil, err
	}
	return parseShow(out), nil
}

func parseShow(out []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[k] = v
		}
	}
	return m
}

// Service is a service unit as it runs now.
type Service struct {
	Unit  string
	Props map[string]string // from systemctl show
	// MainPID is the main process, 0 when there is none; Environ and
	// Cmdline are its initial environment and its command line.
	MainPID int
	Environ []string
	Cmdline []string
	// Started is when the main process was started, zero without one.
	Started time.Time
	// Manager is the service manager's own environment (systemctl
	// show-environment), which every service inherits.
	Manager []string
}

// Active says whether the service runs: active or reloading, with a main
// process.
func (s *Service) Active() bool {
	st := s.Props["ActiveState"]
	return (st == "active" || st == "reloading") && s.MainPID > 0
}

// Socket names the socket units that start the service, "" for none.
func (s *Service) Socket() string {
	var socks []string
	for _, u := range strings.Fields(s.Props["TriggeredBy"]) {
		if strings.HasSuffix(u, ".socket") {
			socks = append(socks, u)
		}
	}
	return strings.Join(socks, " ")
}

// Load reads unit's state and, when it has a main process, that process's
// environment and command line (which takes root, or the service's user).
func Load(ctx context.Context, unit string) (*Service, error) {
	props, err := Show(ctx, unit, Props...)
	if err != nil {
		return nil, err
	}
	if props["LoadState"] == "not-found" {
		return nil, fmt.Errorf("%s is not installed (systemd has no unit of that name)", unit)
	}
	s := &Service{Unit: unit, Props: props}
	out, err := Systemctl(ctx, "show-environment")
	if err != nil {
		return nil, err
	}
	s.Manager = strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	s.MainPID, _ = strconv.Atoi(props["MainPID"])
	if s.MainPID <= 0 {
		return s, nil
	}
	pid := strconv.Itoa(s.MainPID)
	env, err := os.ReadFile(ProcRoot + "/" + pid + "/environ")
	if err != nil {
		return nil, fmt.Errorf("cannot read the environment of %s's main process %s: %w", unit, pid, err)
	}
	s.Environ = split0(env)
	cmdline, err := os.ReadFile(ProcRoot + "/" + pid + "/cmdline")
	if err != nil {
		return nil, fmt.Errorf("cannot read the command line of %s's main process %s: %w", unit, pid, err)
	}
	s.Cmdline = split0(cmdline)
	if us, err := strconv.ParseInt(props["ExecMainStartTimestampMonotonic"], 10, 64); err == nil && us > 0 {
		s.Started = realtime(time.Duration(us) * time.Microsecond)
	}
	return s, nil
}

// realtime converts a CLOCK_MONOTONIC time, as systemd records them, to
// wall-clock time.
func realtime(mono time.Duration) time.Time {
	var ts unix.Timespec
	now := time.Now()
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return time.Time{}
	}
	return now.Add(mono - time.Duration(ts.Nano()))
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

// fromSystemd are variables systemd sets for a service from its unit
// (User=, RuntimeDirectory=, LoadCredential=, ...): the running process's
// values are the ones a restart would give it as long as the unit is the
// same, which is judged apart.
var fromSystemd = []string{
	"HOME", "USER", "LOGNAME", "SHELL", "RUNTIME_DIRECTORY", "STATE_DIRECTORY",
	"CACHE_DIRECTORY", "LOGS_DIRECTORY", "CONFIGURATION_DIRECTORY",
	"CREDENTIALS_DIRECTORY", "PIDFILE", "TERM",
}

// Inherited is the environment systemd would give runapp if the service
// started now with the same unit: the manager's environment, the unit's
// Environment=, and the running process's values of what systemd sets
// per service. The plan built from it is what a restart would run.
func (s *Service) Inherited() []string {
	env := map[string]string{}
	var order []string
	set := func(kv string) {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return
		}
		if _, seen := env[k]; !seen {
			order = append(order, k)
		}
		env[k] = kv
	}
	for _, kv := range s.Manager {
		set(kv)
	}
	for _, kv := range splitEnvironment(s.Props["Environment"]) {
		set(kv)
	}
	for _, kv := range s.Environ {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(fromSystemd, k) || slices.Contains(perInvocation, k) {
			set(kv)
		}
	}
	out := make([]string, len(order))
	for i, k := range order {
		out[i] = env[k]
	}
	return out
}

// splitEnvironment splits systemctl show's Environment= value: words
// separated by spaces, a word with spaces in double quotes with C escapes.
func splitEnvironment(s string) []string {
	var words []string
	for s = strings.TrimLeft(s, " "); s != ""; s = strings.TrimLeft(s, " ") {
		if s[0] != '"' {
			w, rest, _ := strings.Cut(s, " ")
			words, s = append(words, w), rest
			continue
		}
		if w, err := strconv.QuotedPrefix(s); err == nil {
			if u, err := strconv.Unquote(w); err == nil {
				words = append(words, u)
			}
			s = s[len(w):]
			continue
		}
		break // not what systemctl writes: leave the rest out
	}
	return words
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
