package running

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Systemd is what deploy and check ask systemd; Connect's connection, or
// a test's stand-in.
type Systemd interface {
	// Load reads unit as it runs now (see Service).
	Load(ctx context.Context, unit string) (*Service, error)
	// State reads the unit's state now.
	State(ctx context.Context, unit string) (State, error)
	// Listen returns the addresses a socket unit listens on for stream
	// connections, as it lists them.
	Listen(ctx context.Context, socket string) ([]string, error)
	// Deps reads what unit pulls in and what it starts.
	Deps(ctx context.Context, unit string) (Deps, error)
	Close()
}

// Deps are a unit's dependencies as systemd has loaded them.
type Deps struct {
	LoadState string
	// Wants are the units it wants; ConsistsOf those that are PartOf= it
	// (a template's running instances); Triggers those it starts (a
	// timer's service).
	Wants, ConsistsOf, Triggers []string
}

// State is a unit's state at one moment.
type State struct {
	ActiveState, SubState, Result, StatusText string
	NRestarts                                 int
	MainPID                                   int
	InvocationID                              string // as the journal's _SYSTEMD_INVOCATION_ID
}

const (
	systemd1 = "org.freedesktop.systemd1"
	manager  = "/org/freedesktop/systemd1"
)

// Connect reaches the system manager over D-Bus through busctl, systemd's
// own client, which is installed wherever systemctl is, on the system bus.
// busctl --json writes each D-Bus value with its signature, as typed as a
// D-Bus library gives it; a D-Bus library linked into runapp would
// initialise its packages (godbus, crypto, math/big, log) on every launch
// of every server, for what deploy and check alone ask. busctl cannot use
// systemd's private socket (/run/systemd/private) instead: it greets every
// address as a bus, and systemd answers that greeting with an error. A
// variable so that tests can stand in for systemd.
var Connect = func(ctx context.Context) (Systemd, error) {
	c := &busctl{paths: map[string]string{}}
	var version value
	if err := c.run(ctx, &version, "get-property", systemd1, manager, systemd1+".Manager", "Version"); err != nil {
		return nil, fmt.Errorf("cannot reach systemd over D-Bus (the system bus, dbus-daemon or dbus-broker): %w", err)
	}
	return c, nil
}

// busctl asks systemd with busctl.
type busctl struct {
	paths map[string]string // the units' object paths, by name
}

func (c *busctl) Close() {}

// run runs busctl --json=short with args and decodes its output into out.
func (c *busctl) run(ctx context.Context, out any, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "busctl", append([]string{"--json=short"}, args...)...)
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("busctl %s: %s", strings.Join(args, " "), msg)
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		return fmt.Errorf("busctl %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// value is a D-Bus value as busctl --json writes it: its signature, and
// its data in JSON (a struct as an array, a dict as an object, a byte
// array as an array of numbers, a variant as a value).
type value struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// decode decodes v into dst when v has the signature sig.
func (v value) decode(sig string, dst any) error {
	if v.Type != sig {
		return fmt.Errorf("a %s where systemd gives a %s", v.Type, sig)
	}
	return json.Unmarshal(v.Data, dst)
}

// props are the properties of one interface, as GetAll gives them.
type props map[string]value

// path is unit's object path, which LoadUnit gives (loading the unit if it
// is not, as systemctl show does).
func (c *busctl) path(ctx context.Context, unit string) (string, error) {
	if p, ok := c.paths[unit]; ok {
		return p, nil
	}
	var reply value
	if err := c.run(ctx, &reply, "call", systemd1, manager, systemd1+".Manager", "LoadUnit", "s", unit); err != nil {
		return "", err
	}
	var out []string // a call's reply is the list of its out arguments
	if err := reply.decode("o", &out); err != nil || len(out) != 1 {
		return "", fmt.Errorf("LoadUnit %s: %v", unit, err)
	}
	c.paths[unit] = out[0]
	return out[0], nil
}

// getAll reads the properties unit has on iface (Unit, Service, Socket).
func (c *busctl) getAll(ctx context.Context, unit, iface string) (props, error) {
	path, err := c.path(ctx, unit)
	if err != nil {
		return nil, err
	}
	var reply value
	if err := c.run(ctx, &reply, "call", systemd1, path, "org.freedesktop.DBus.Properties", "GetAll", "s", systemd1+"."+iface); err != nil {
		return nil, err
	}
	p, err := allProps(reply)
	if err != nil {
		return nil, fmt.Errorf("GetAll %s: %w", iface, err)
	}
	return p, nil
}

// allProps are the properties a GetAll call's reply holds.
func allProps(reply value) (props, error) {
	var out []props
	if err := reply.decode("a{sv}", &out); err != nil {
		return nil, err
	}
	if len(out) != 1 {
		return nil, fmt.Errorf("%d values, not 1", len(out))
	}
	return out[0], nil
}

func (c *busctl) Load(ctx context.Context, unit string) (*Service, error) {
	u, err := c.getAll(ctx, unit, "Unit")
	if err != nil {
		return nil, fmt.Errorf("cannot read %s from systemd: %w", unit, err)
	}
	var load string
	if u.get("LoadState", "s", &load) == nil && load == "not-found" {
		return nil, fmt.Errorf("%s is not installed (systemd has no unit of that name)", unit)
	}
	svc, err := c.getAll(ctx, unit, "Service")
	if err != nil {
		return nil, fmt.Errorf("cannot read %s from systemd: %w", unit, err)
	}
	s, err := fromProps(unit, u, svc)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s from systemd: %w", unit, err)
	}
	var env value
	if err := c.run(ctx, &env, "get-property", systemd1, manager, systemd1+".Manager", "Environment"); err != nil {
		return nil, fmt.Errorf("cannot read the service manager's environment: %w", err)
	}
	if err := env.decode("as", &s.Manager); err != nil {
		return nil, fmt.Errorf("cannot read the service manager's environment: %w", err)
	}
	return s, s.readProc()
}

// get decodes property name into dst when p has it with the signature
// sig, and leaves dst alone when p has no such property (a systemd older
// than the property).
func (p props) get(name, sig string, dst any) error {
	v, ok := p[name]
	if !ok {
		return nil
	}
	if err := v.decode(sig, dst); err != nil {
		return fmt.Errorf("property %s: %w", name, err)
	}
	return nil
}

// fromProps is a Service from the properties of the interfaces
// org.freedesktop.systemd1.Unit (u) and .Service (svc).
func fromProps(unit string, u, svc props) (*Service, error) {
	s := &Service{Unit: unit}
	var id []byte
	var mainPID uint32
	var started, timeoutStop uint64
	var files, creds [][]json.RawMessage
	var start, reload [][]json.RawMessage
	err := errors.Join(
		u.get("LoadState", "s", &s.LoadState),
		u.get("ActiveState", "s", &s.ActiveState),
		u.get("SubState", "s", &s.SubState),
		u.get("NeedDaemonReload", "b", &s.NeedDaemonReload),
		u.get("InvocationID", "ay", &id),
		u.get("FragmentPath", "s", &s.FragmentPath),
		u.get("DropInPaths", "as", &s.DropInPaths),
		u.get("TriggeredBy", "as", &s.TriggeredBy),
		svc.get("MainPID", "u", &mainPID),
		svc.get("ExecMainStartTimestamp", "t", &started),
		svc.get("TimeoutStopUSec", "t", &timeoutStop),
		// Per command: its path, its argv, whether its failure is
		// ignored, its last run's timestamps and status.
		svc.get("ExecStart", "a(sasbttttuii)", &start),
		svc.get("ExecReload", "a(sasbttttuii)", &reload),
		svc.get("User", "s", &s.User),
		svc.get("Environment", "as", &s.Environment),
		svc.get("EnvironmentFiles", "a(sb)", &files),
		svc.get("UnsetEnvironment", "as", &s.UnsetEnvironment),
		svc.get("PassEnvironment", "as", &s.PassEnvironment),
		svc.get("LoadCredential", "a(ss)", &creds),
	)
	s.InvocationID = hex.EncodeToString(id)
	s.MainPID = int(mainPID)
	s.TimeoutStop = time.Duration(timeoutStop) * time.Microsecond
	if started > 0 && s.MainPID > 0 {
		s.Started = time.UnixMicro(int64(started))
	}
	for _, c := range start {
		var cmd Command
		err = errors.Join(err, fields(c, &cmd.Path, &cmd.Argv))
		s.ExecStart = append(s.ExecStart, cmd)
	}
	for _, c := range reload {
		var cmd Command
		err = errors.Join(err, fields(c, &cmd.Path, &cmd.Argv))
		s.ExecReload = append(s.ExecReload, cmd)
	}
	for _, f := range files {
		var file EnvFile
		err = errors.Join(err, fields(f, &file.Path, &file.Optional))
		s.EnvironmentFiles = append(s.EnvironmentFiles, file)
	}
	if creds != nil {
		s.Credentials = map[string]string{}
	}
	for _, c := range creds {
		var id, source string
		err = errors.Join(err, fields(c, &id, &source))
		s.Credentials["/run/credentials/"+unit+"/"+id] = source
	}
	return s, err
}

// fields decodes the first members of a D-Bus struct (an array in busctl's
// JSON, whose signature was checked) into dst, in order.
func fields(members []json.RawMessage, dst ...any) error {
	if len(members) < len(dst) {
		return fmt.Errorf("a struct of %d members, not %d", len(members), len(dst))
	}
	for i, d := range dst {
		if err := json.Unmarshal(members[i], d); err != nil {
			return err
		}
	}
	return nil
}

func (c *busctl) State(ctx context.Context, unit string) (State, error) {
	u, err := c.getAll(ctx, unit, "Unit")
	if err != nil {
		return State{}, fmt.Errorf("cannot read %s from systemd: %w", unit, err)
	}
	svc, err := c.getAll(ctx, unit, "Service")
	if err != nil {
		return State{}, fmt.Errorf("cannot read %s from systemd: %w", unit, err)
	}
	return stateFrom(u, svc)
}

// stateFrom is a State from the properties of the interfaces
// org.freedesktop.systemd1.Unit (u) and .Service (svc).
func stateFrom(u, svc props) (State, error) {
	var st State
	var id []byte
	var restarts, mainPID uint32
	err := errors.Join(
		u.get("ActiveState", "s", &st.ActiveState),
		u.get("SubState", "s", &st.SubState),
		u.get("InvocationID", "ay", &id),
		svc.get("Result", "s", &st.Result),
		svc.get("StatusText", "s", &st.StatusText),
		svc.get("NRestarts", "u", &restarts),
		svc.get("MainPID", "u", &mainPID),
	)
	st.InvocationID = hex.EncodeToString(id)
	st.NRestarts, st.MainPID = int(restarts), int(mainPID)
	return st, err
}

func (c *busctl) Deps(ctx context.Context, unit string) (Deps, error) {
	u, err := c.getAll(ctx, unit, "Unit")
	if err != nil {
		return Deps{}, fmt.Errorf("cannot read %s from systemd: %w", unit, err)
	}
	return depsFrom(u)
}

// depsFrom is the Deps of the properties of org.freedesktop.systemd1.Unit.
func depsFrom(u props) (Deps, error) {
	var d Deps
	err := errors.Join(
		u.get("LoadState", "s", &d.LoadState),
		u.get("Wants", "as", &d.Wants),
		u.get("ConsistsOf", "as", &d.ConsistsOf),
		u.get("Triggers", "as", &d.Triggers),
	)
	return d, err
}

func (c *busctl) Listen(ctx context.Context, socket string) ([]string, error) {
	path, err := c.path(ctx, socket)
	if err != nil {
		return nil, err
	}
	var listen value
	if err := c.run(ctx, &listen, "get-property", systemd1, path, systemd1+".Socket", "Listen"); err != nil {
		return nil, err
	}
	return listens(listen)
}

// listens are the stream addresses of a socket unit's Listen property,
// a(ss): per socket its type and its address.
func listens(v value) ([]string, error) {
	var listen [][2]string
	if err := v.decode("a(ss)", &listen); err != nil {
		return nil, err
	}
	var addrs []string
	for _, l := range listen {
		if l[0] == "Stream" {
			addrs = append(addrs, l[1])
		}
	}
	return addrs, nil
}
