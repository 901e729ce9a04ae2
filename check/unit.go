package check

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/launcher"
)

// unitFile is a parsed service unit with the line of each option.
type unitFile struct {
	path  string
	name  string // without .service
	opts  []*unit.UnitOption
	lines []int
}

// where names a line of the unit.
func (u *unitFile) where(line int) string {
	if line == 0 {
		return u.path
	}
	return fmt.Sprintf("%s:%d", u.path, line)
}

// get returns the last value of an option, as systemd uses it.
func (u *unitFile) get(section, name string) (string, int, bool) {
	for i := len(u.opts) - 1; i >= 0; i-- {
		if o := u.opts[i]; o.Section == section && o.Name == name {
			return o.Value, u.lines[i], true
		}
	}
	return "", 0, false
}

// option is one assignment of a list option.
type option struct {
	value string
	line  int
}

// all returns every value of a list option since the last empty
// assignment, which resets the list in systemd.
func (u *unitFile) all(section, name string) []option {
	var list []option
	for i, o := range u.opts {
		if o.Section != section || o.Name != name {
			continue
		}
		if o.Value == "" {
			list = nil
			continue
		}
		list = append(list, option{o.Value, u.lines[i]})
	}
	return list
}

// loadUnit reads --unit, else the installed NAME.service, when there is one.
func (c *checker) loadUnit() {
	path, given := c.opts.Unit, true
	if path == "" {
		name := c.opts.Name
		if name == "" {
			name = filepath.Base(c.dir)
		}
		path, given = filepath.Join(c.opts.UnitDir, name+".service"), false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if given || !errors.Is(err, fs.ErrNotExist) {
			c.add(Error, "unit.read", path, fmt.Sprintf("cannot read the unit: %v", errors.Unwrap(err)), "")
		}
		return
	}
	opts, err := unit.DeserializeOptions(bytes.NewReader(data))
	if err != nil {
		c.add(Error, "unit.syntax", path, fmt.Sprintf("cannot parse the unit: %v", err), "")
		return
	}
	c.unit = &unitFile{
		path:  path,
		name:  strings.TrimSuffix(filepath.Base(path), ".service"),
		opts:  opts,
		lines: optionLines(data, opts),
	}
}

// optionLines finds the line each option starts on, matching the options
// in order against the lines of the file (go-systemd does not keep them).
func optionLines(data []byte, opts []*unit.UnitOption) []int {
	lines := make([]int, len(opts))
	section := ""
	next := 0
	text := strings.Split(string(data), "\n")
	for i := 0; i < len(text) && next < len(opts); i++ {
		line := strings.TrimSpace(text[i])
		switch {
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[] \t")
		case line == "" || line[0] == '#' || line[0] == ';':
		default:
			name, _, ok := strings.Cut(line, "=")
			if ok && section == opts[next].Section && strings.TrimSpace(name) == opts[next].Name {
				lines[next] = i + 1
				next++
			}
			for strings.HasSuffix(strings.TrimRight(text[i], " \t\r"), `\`) && i+1 < len(text) {
				i++ // a continued value
			}
		}
	}
	return lines
}

// unitHasCap says whether AmbientCapabilities= grants capability.
func (c *checker) unitHasCap(capability string) bool {
	has := false
	for _, o := range c.unit.all("Service", "AmbientCapabilities") {
		v := o.value
		invert := strings.HasPrefix(v, "~")
		for _, f := range strings.Fields(strings.TrimPrefix(v, "~")) {
			if strings.EqualFold(f, capability) {
				has = !invert
			}
		}
	}
	return has
}

// socketUnit names the socket unit that starts the service, "" when none:
// Sockets=, or NAME.socket next to the unit, as systemd pairs them.
func (c *checker) socketUnit() string {
	if s := c.unit.all("Service", "Sockets"); len(s) > 0 {
		return strings.Fields(s[0].value)[0]
	}
	socket := filepath.Join(filepath.Dir(c.unit.path), c.unit.name+".socket")
	if exists(socket) {
		return socket
	}
	return ""
}

// systemdStopDefault is DefaultTimeoutStopSec= of systemd 252.
const systemdStopDefault = 90 * time.Second

// unitStopTimeout is how long systemd waits after SIGTERM: TimeoutStopSec=,
// else TimeoutSec=, else the default; 0 means it does not kill.
func (c *checker) unitStopTimeout() (d time.Duration, line int, explicit bool) {
	v, line, ok := c.unit.get("Service", "TimeoutStopSec")
	if !ok {
		v, line, ok = c.unit.get("Service", "TimeoutSec")
	}
	if !ok {
		return systemdStopDefault, 0, false
	}
	d, err := parseTimespan(v)
	if err != nil {
		return 0, line, true // systemd ignores what it cannot parse: not checked here
	}
	return d, line, true
}

// parseTimespan reads a systemd time span ("90", "1min 30s", "500ms",
// "infinity"); infinity and 0 both mean no limit and give 0.
func parseTimespan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "infinity" {
		return 0, nil
	}
	units := []struct {
		names []string
		d     time.Duration
	}{
		{[]string{"usec", "us", "µs"}, time.Microsecond},
		{[]string{"msec", "ms"}, time.Millisecond},
		{[]string{"seconds", "second", "sec", "s"}, time.Second},
		{[]string{"minutes", "minute", "min", "m"}, time.Minute},
		{[]string{"hours", "hour", "hr", "h"}, time.Hour},
		{[]string{"days", "day", "d"}, 24 * time.Hour},
		{[]string{"weeks", "week", "w"}, 7 * 24 * time.Hour},
	}
	var total time.Duration
	rest := s
	if rest == "" {
		return 0, errors.New("empty time span")
	}
	for rest != "" {
		rest = strings.TrimLeft(rest, " \t")
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("bad time span %q", s)
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("bad time span %q", s)
		}
		rest = strings.TrimLeft(rest[i:], " \t")
		j := 0
		for j < len(rest) && !(rest[j] >= '0' && rest[j] <= '9') && rest[j] != ' ' {
			j++
		}
		word := rest[:j]
		rest = rest[j:]
		mult := time.Duration(0)
		if word == "" {
			mult = time.Second
		}
		for _, u := range units {
			for _, name := range u.names {
				if word == name {
					mult = u.d
				}
			}
		}
		if mult == 0 {
			return 0, fmt.Errorf("bad time span %q", s)
		}
		total += time.Duration(n * float64(mult))
	}
	return total, nil
}

// checkUnit looks for the unit settings that fight runapp and gunicorn.
func (c *checker) checkUnit() {
	u := c.unit
	if v, line, ok := u.get("Service", "Type"); ok && v == "forking" {
		c.add(Error, "unit.type", u.where(line),
			"Type=forking waits for the started process to fork and exit, but runapp execs gunicorn, which stays in the foreground: systemd times out and kills it",
			"use Type=notify (gunicorn 20 and later tell systemd when they are ready), or Type=exec")
	}
	if _, line, ok := u.get("Service", "PIDFile"); ok {
		c.add(Warning, "unit.pidfile", u.where(line),
			"PIDFile= is for daemons that fork; runapp execs gunicorn, so systemd already knows the main PID",
			"remove PIDFile= (and gunicorn's pidfile)")
	}
	if v, line, ok := u.get("Service", "WatchdogSec"); ok {
		if d, err := parseTimespan(v); err == nil && d > 0 {
			c.add(Error, "unit.watchdog", u.where(line),
				"WatchdogSec= makes systemd kill the service unless it sends WATCHDOG=1 in time, which gunicorn never does",
				"remove WatchdogSec=")
		}
	}
	if v, line, ok := u.get("Service", "KillMode"); ok {
		switch v {
		case "process":
			c.add(Warning, "unit.killmode", u.where(line),
				"KillMode=process stops only gunicorn's master: workers it cannot stop in time are left running outside the service, holding the port on restart",
				"use KillMode=mixed: SIGTERM to the master, SIGKILL to whatever is left at the timeout")
		case "none":
			c.add(Error, "unit.killmode", u.where(line),
				"KillMode=none leaves every process running when the service stops, outside systemd's control",
				"use KillMode=mixed")
		}
	}
	if _, _, ok := u.get("Service", "User"); !ok {
		if v, _, _ := u.get("Service", "DynamicUser"); !isTrue(v) {
			c.add(Warning, "unit.user", u.path, "the unit has no User=: the service runs as root",
				"add User= (runapp unit --user NAME writes it)")
		}
	}
	for _, o := range u.all("Service", "EnvironmentFile") {
		c.checkUnitEnvFile(o)
	}
	if v, line, ok := u.get("Service", "ExecStart"); ok {
		c.checkExecStart(v, line)
	}
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
func (c *checker) checkUnitEnvFile(o option) {
	path := strings.TrimPrefix(o.value, "-")
	optional := path != o.value
	if strings.Contains(path, "%") || !filepath.IsAbs(path) {
		return // a specifier, or a path systemd refuses itself
	}
	where := c.unit.where(o.line)
	data, err := envfile.ReadBytes(path)
	if err != nil {
		if !optional || !errors.Is(err, fs.ErrNotExist) {
			c.add(Error, "unit.environmentfile", where, fmt.Sprintf("EnvironmentFile= names %s, which systemd cannot read (%v), so the service does not start", path, errors.Unwrap(err)),
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
			c.add(Error, "unit.environmentfile", where,
				fmt.Sprintf("EnvironmentFile= names %s, which runapp refuses (see its problems): systemd would read those lines otherwise than bash and runapp do", f.name),
				"fix the lines; since runapp reads the file itself, remove EnvironmentFile= unless ExecStartPre= needs the variables")
			return
		}
	}
	var lines []string
	for _, p := range ef.Problems {
		lines = append(lines, strconv.Itoa(p.Line))
	}
	c.add(Error, "unit.environmentfile", where,
		fmt.Sprintf("EnvironmentFile= names %s, which systemd and bash read differently (line %s; runapp check --env-file %s says how)", path, strings.Join(lines, ", "), path),
		"write the lines as runapp accepts them: then every reader gets the same values")
}

// checkExecStart: a shell script as ExecStart= must exec the server, or the
// shell stays the main process.
func (c *checker) checkExecStart(v string, line int) {
	prog := execProgram(v)
	if !filepath.IsAbs(prog) {
		return
	}
	if _, err := os.Stat(prog); err != nil {
		c.add(Error, "unit.execstart", c.unit.where(line),
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
	c.add(Error, "unit.execstart", c.unit.where(line),
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

// UnitCommand returns the argv the unit's ExecStart= runs, split and
// unquoted as systemd does (quotes, backslash escapes, "%%", "$$" and "%d",
// the credentials directory of a system service; other specifiers and
// variables are left as written), and the source of each LoadCredential=
// by the path the service sees it at, so that runapp check can take the
// configuration from a unit that runs runapp.
func UnitCommand(path string) (argv []string, credentials map[string]string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	opts, err := unit.DeserializeOptions(bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	credentials = map[string]string{}
	credDir := "/run/credentials/" + filepath.Base(path)
	exec := ""
	for _, o := range opts {
		if o.Section != "Service" {
			continue
		}
		switch o.Name {
		case "ExecStart":
			exec = o.Value
		case "LoadCredential":
			if name, src, ok := strings.Cut(o.Value, ":"); ok {
				credentials[credDir+"/"+name] = strings.ReplaceAll(src, "%%", "%")
			}
		}
	}
	argv, err = splitExec(strings.TrimLeft(exec, "@-:+!"), credDir)
	return argv, credentials, err
}

// splitExec splits an ExecStart= command line into words as systemd 252
// does (extract_first_word with EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE), then
// expands "%%", "$$" and "%d" (to credDir).
func splitExec(s, credDir string) ([]string, error) {
	var words []string
	var w strings.Builder
	in := false
	var quote byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\' && i+1 < len(s):
			i++
			in = true
			switch e := s[i]; e {
			case 'n':
				w.WriteByte('\n')
			case 't':
				w.WriteByte('\t')
			case 'r':
				w.WriteByte('\r')
			default:
				w.WriteByte(e) // \\ \" \' \; and a backslash before anything else
			}
		case quote != 0:
			if ch == quote {
				quote = 0
			} else {
				w.WriteByte(ch)
			}
		case ch == '"' || ch == '\'':
			quote, in = ch, true
		case ch == ' ' || ch == '\t' || ch == '\n':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteByte(ch)
			in = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote in ExecStart=")
	}
	if in {
		words = append(words, w.String())
	}
	r := strings.NewReplacer("%%", "%", "%d", credDir, "$$", "$")
	for i := range words {
		words[i] = r.Replace(words[i])
	}
	return words, nil
}
