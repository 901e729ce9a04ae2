package check

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/unitfile"
)

// unitFile is the unit checked, as systemd loads it.
type unitFile struct {
	*unitfile.Unit
	path string // the fragment, for problems about the unit as a whole
	name string // without .service
}

// get returns the value of an option systemd uses, the last one
// assigned, and where it is.
func (u *unitFile) get(section, name string) (value, where string, ok bool) {
	o, ok := u.Get(section, name)
	return o.Value, o.Where(), ok
}

// all returns every value of a list option since the last empty
// assignment, which resets the list in systemd.
func (u *unitFile) all(section, name string) []unitfile.Option {
	return u.List(section, name)
}

// FindUnit reads the unit opts names as systemd loads it: --unit FILE with
// the drop-ins in FILE.d beside it, else NAME.service (NAME: opts.Name,
// else the app directory's base name) from the search path with its
// drop-ins. Its errors are unitfile's: one that wraps fs.ErrNotExist when
// there is no such unit.
func FindUnit(opts Options) (*unitfile.Unit, error) {
	if opts.Unit != "" {
		return unitfile.LoadFile(opts.Unit)
	}
	name := opts.Name
	if name == "" {
		name = filepath.Base(absDir(opts.Config.AppDir))
	}
	return unitfile.Load(name+".service", opts.UnitPath)
}

// loadUnit reads --unit, else the installed NAME.service, when there is one.
func (c *checker) loadUnit() {
	u, err := FindUnit(c.opts)
	var masked *unitfile.MaskedError
	var syntax *unitfile.SyntaxError
	switch {
	case errors.Is(err, fs.ErrNotExist) && c.opts.Unit == "":
		return // not installed: nothing to check
	case errors.As(err, &masked):
		c.add(Error, IDUnitRead, masked.Path, fmt.Sprintf("%s is masked (a link to /dev/null, or empty): systemd does not start it", masked.Name),
			fmt.Sprintf("systemctl unmask %s", masked.Name))
		return
	case errors.As(err, &syntax):
		c.add(Error, IDUnitSyntax, fmt.Sprintf("%s:%d", syntax.File, syntax.Line), fmt.Sprintf("systemd refuses the unit: %s", syntax.Msg), "")
		return
	case err != nil:
		where := c.opts.Unit
		var pe *fs.PathError
		if errors.As(err, &pe) {
			where = pe.Path // the file that cannot be read
		}
		c.add(Error, IDUnitRead, where, fmt.Sprintf("cannot read the unit: %v", unwrapPath(err)), "")
		return
	}
	for _, se := range u.Ignored {
		where := se.File
		if se.Line > 0 {
			where = fmt.Sprintf("%s:%d", se.File, se.Line)
		}
		c.add(Warning, IDUnitSyntax, where, fmt.Sprintf("systemd stops reading this drop-in here (%s): the lines after it do not apply", se.Msg), "")
	}
	c.unit = &unitFile{Unit: u, path: u.Fragment, name: strings.TrimSuffix(u.Name, ".service")}
}

// unwrapPath drops the path from an error that names it.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// unitHasCap says whether AmbientCapabilities= grants capability.
func (c *checker) unitHasCap(capability string) bool {
	has := false
	for _, o := range c.unit.all("Service", "AmbientCapabilities") {
		v := o.Value
		invert := strings.HasPrefix(v, "~")
		for _, f := range strings.Fields(strings.TrimPrefix(v, "~")) {
			if strings.EqualFold(f, capability) {
				has = !invert
			}
		}
	}
	return has
}

// hasSocket says whether a socket unit starts the service: Sockets=, or
// NAME.socket, as systemd pairs them.
func (c *checker) hasSocket() bool {
	return len(c.unit.all("Service", "Sockets")) > 0 || c.socketUnit() != nil
}

// socketUnit is the socket unit that starts the service, nil when none
// can be read: the first of Sockets=, else NAME.socket; found where the
// service was (beside --unit FILE, else on the search path).
func (c *checker) socketUnit() *unitfile.Unit {
	name := c.unit.name + ".socket"
	if s := c.unit.all("Service", "Sockets"); len(s) > 0 {
		name = strings.Fields(s[0].Value)[0]
	}
	var u *unitfile.Unit
	var err error
	if c.opts.Unit != "" {
		u, err = unitfile.LoadFile(filepath.Join(filepath.Dir(c.unit.path), name))
	} else {
		u, err = unitfile.Load(name, c.opts.UnitPath)
	}
	if err != nil {
		return nil
	}
	return u
}

// systemdStopDefault is DefaultTimeoutStopSec= of systemd 252.
const systemdStopDefault = 90 * time.Second

// unitStopTimeout is how long systemd waits after SIGTERM: TimeoutStopSec=,
// else TimeoutSec=, else the default; 0 means it does not kill. where is
// the option's place, or the unit's when it is the default.
func (c *checker) unitStopTimeout() (d time.Duration, where string) {
	v, where, ok := c.unit.get("Service", "TimeoutStopSec")
	if !ok {
		v, where, ok = c.unit.get("Service", "TimeoutSec")
	}
	if !ok {
		return systemdStopDefault, c.unit.path
	}
	d, err := unitfile.ParseTimespan(v)
	if err != nil {
		return 0, where // systemd ignores what it cannot parse: not checked here
	}
	return d, where
}

// checkUnit looks for the unit settings that fight runapp and gunicorn.
func (c *checker) checkUnit() {
	u := c.unit
	if v, where, ok := u.get("Service", "Type"); ok && v == "forking" {
		c.add(Error, IDUnitType, where,
			"Type=forking waits for the started process to fork and exit, but runapp execs gunicorn, which stays in the foreground: systemd times out and kills it",
			"use Type=notify (gunicorn 20 and later tell systemd when they are ready), or Type=exec")
	}
	if _, where, ok := u.get("Service", "PIDFile"); ok {
		c.add(Warning, IDUnitPidfile, where,
			"PIDFile= is for daemons that fork; runapp execs gunicorn, so systemd already knows the main PID",
			"remove PIDFile= (and gunicorn's pidfile)")
	}
	if v, where, ok := u.get("Service", "WatchdogSec"); ok {
		if d, err := unitfile.ParseTimespan(v); err == nil && d > 0 {
			c.add(Error, IDUnitWatchdog, where,
				"WatchdogSec= makes systemd kill the service unless it sends WATCHDOG=1 in time, which gunicorn never does",
				"remove WatchdogSec=")
		}
	}
	if v, where, ok := u.get("Service", "KillMode"); ok {
		switch v {
		case "process":
			c.add(Warning, IDUnitKillMode, where,
				"KillMode=process stops only gunicorn's master: workers it cannot stop in time are left running outside the service, holding the port on restart",
				"use KillMode=mixed: SIGTERM to the master, SIGKILL to whatever is left at the timeout")
		case "none":
			c.add(Error, IDUnitKillMode, where,
				"KillMode=none leaves every process running when the service stops, outside systemd's control",
				"use KillMode=mixed")
		}
	}
	if v, _, _ := u.get("Service", "User"); v == "" {
		if v, _, _ := u.get("Service", "DynamicUser"); !isTrue(v) {
			c.add(Warning, IDUnitUser, u.path, "the unit has no User=: the service runs as root",
				"add User= (runapp unit --user NAME writes it)")
		}
	}
	for _, o := range u.all("Service", "EnvironmentFile") {
		c.checkUnitEnvFile(o)
	}
	c.checkExecStarts()
	c.checkDrift()
}

func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "1", "yes", "true", "on":
		return true
	}
	return false
}

// checkUnitEnvFile: systemd reads an EnvironmentFile= with its own parser;
// when runapp's would refuse the file, the two read it differently.
func (c *checker) checkUnitEnvFile(o unitfile.Option) {
	path := strings.TrimPrefix(o.Value, "-")
	optional := path != o.Value
	if strings.Contains(path, "%") || !filepath.IsAbs(path) {
		return // a specifier, or a path systemd refuses itself
	}
	where := o.Where()
	data, err := os.ReadFile(path)
	if err != nil {
		if !optional || !errors.Is(err, fs.ErrNotExist) {
			c.add(Error, IDUnitEnvironmentFile, where, fmt.Sprintf("EnvironmentFile= names %s, which systemd cannot read (%v), so the service does not start", path, errors.Unwrap(err)),
				"create the file, or write EnvironmentFile=-PATH to make it optional")
		}
		return
	}
	_, err = envfile.Parse(path, data)
	ef, ok := envfile.AsError(err)
	if !ok {
		return
	}
	for _, f := range c.files {
		if sameFile(f.path, path) {
			c.add(Error, IDUnitEnvironmentFile, where,
				fmt.Sprintf("EnvironmentFile= names %s, which runapp refuses (see its problems): systemd would read those lines otherwise than bash and runapp do", f.name),
				"fix the lines; since runapp reads the file itself, remove EnvironmentFile= unless ExecStartPre= needs the variables")
			return
		}
	}
	var lines []string
	for _, p := range ef.Problems {
		lines = append(lines, strconv.Itoa(p.Line))
	}
	c.add(Error, IDUnitEnvironmentFile, where,
		fmt.Sprintf("EnvironmentFile= names %s, which systemd and bash read differently (line %s; runapp check --env-file %s says how)", path, strings.Join(lines, ", "), path),
		"write the lines as runapp accepts them: then every reader gets the same values")
}

// checkExecStarts: a service other than Type=oneshot runs one ExecStart=;
// a drop-in that adds one without resetting the list (an empty ExecStart=
// first) makes systemd refuse the unit.
func (c *checker) checkExecStarts() {
	exec := c.unit.all("Service", "ExecStart")
	if len(exec) == 0 {
		return
	}
	if t, _, _ := c.unit.get("Service", "Type"); len(exec) > 1 && t != "oneshot" {
		first := exec[0]
		c.add(Error, IDUnitExecStart, exec[1].Where(),
			fmt.Sprintf("a second ExecStart= (the first is at %s): systemd refuses a service with more than one unless Type=oneshot, and does not start it", first.Where()),
			"write an empty ExecStart= before it, to replace the command rather than add one")
		return
	}
	c.checkExecStart(exec[len(exec)-1])
}

// checkExecStart: a shell script as ExecStart= must exec the server, or the
// shell stays the main process.
func (c *checker) checkExecStart(o unitfile.Option) {
	prog := execProgram(o.Value)
	if !filepath.IsAbs(prog) {
		return
	}
	if _, err := os.Stat(prog); err != nil {
		c.add(Error, IDUnitExecStart, o.Where(),
			fmt.Sprintf("ExecStart= runs %s, which does not exist: systemd says 203/EXEC", prog),
			"install it there, or fix the path")
		return
	}
	interp, arg, err := launcher.Shebang(prog)
	if err != nil || !isShell(interp, arg) {
		return
	}
	data, err := os.ReadFile(prog)
	if err != nil {
		return
	}
	last, cmdLine := lastCommand(string(data))
	if cmdLine == 0 || last == "exec" || strings.HasPrefix(last, "exec ") || strings.HasPrefix(last, "exec\t") {
		return
	}
	c.add(Error, IDUnitExecStart, o.Where(),
		fmt.Sprintf("ExecStart= runs %s, a shell script whose last command (line %d) is not exec'd: the shell stays the main process, so SIGTERM and SIGHUP from systemd reach the shell instead of gunicorn, and a READY=1 from gunicorn is not from the main PID", prog, cmdLine),
		"write exec before that command; or let runapp replace the script (runapp unit prints the unit)")
}

func isShell(interp, arg string) bool {
	name := filepath.Base(interp)
	if name == "env" {
		name = strings.Fields(arg + " x")[0]
	}
	switch name {
	case "sh", "bash", "dash", "zsh", "ksh", "mksh":
		return true
	}
	return false
}

// lastCommand returns the last simple command of a shell script and its
// line: the part after the last ";", "&&" or "||" of the last line that is
// not blank or a comment, continuation lines joined.
func lastCommand(script string) (string, int) {
	lines := strings.Split(script, "\n")
	last, at := "", 0
	for i := 0; i < len(lines); i++ {
		start := i
		line := lines[i]
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + " " + lines[i]
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		last, at = line, start+1
	}
	last = strings.TrimRight(last, "; \t")
	switch last {
	case "fi", "done", "esac", "}", ")":
		return "", 0 // the last command is inside a block: not judged
	}
	for _, sep := range []string{";", "&&", "||"} {
		if i := strings.LastIndex(last, sep); i >= 0 {
			last = last[i+len(sep):]
		}
	}
	return strings.TrimSpace(last), at
}
