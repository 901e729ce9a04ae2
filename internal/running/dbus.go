package running

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
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
	Close()
}

// State is a unit's state at one moment.
type State struct {
	ActiveState, SubState, Result, StatusText string
	NRestarts                                 int
	MainPID                                   int
	InvocationID                              string // as the journal's _SYSTEMD_INVOCATION_ID
}

// Connect connects to the system manager over D-Bus: the system bus, else
// (as root, without a bus daemon) systemd's private socket. A variable so
// that tests can stand in for systemd.
var Connect = func(ctx context.Context) (Systemd, error) {
	c := &conn{}
	dial := func() (*dbus.Conn, error) {
		b, err := dbus.SystemBusPrivate(dbus.WithContext(ctx))
		if err == nil {
			err = auth(b)
			if err == nil {
				err = b.Hello()
			}
		}
		if err != nil && os.Geteuid() == 0 {
			if b != nil {
				b.Close()
			}
			// No Hello on the private socket: there is no bus.
			if b, err = dbus.Dial("unix:path=/run/systemd/private", dbus.WithContext(ctx)); err == nil {
				err = auth(b)
			}
		}
		if err != nil {
			if b != nil {
				b.Close()
			}
			return nil, err
		}
		if c.bus == nil {
			c.bus = b
		}
		return b, nil
	}
	var err error
	if c.sd, err = sd.NewConnection(dial); err != nil {
		return nil, fmt.Errorf("cannot reach systemd over D-Bus: %w", err)
	}
	return c, nil
}

// auth authenticates as the process's uid, as go-systemd does: no user
// name to look up.
func auth(b *dbus.Conn) error {
	return b.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))})
}

// conn is a connection to systemd: go-systemd's, and the first of its bus
// connections, for the manager's own properties (go-systemd returns those
// as text only).
type conn struct {
	sd  *sd.Conn
	bus *dbus.Conn
}

func (c *conn) Close() { c.sd.Close() }

func (c *conn) Load(ctx context.Context, unit string) (*Service, error) {
	u, err := c.sd.GetUnitPropertiesContext(ctx, unit)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s from systemd: %w", unit, err)
	}
	if str(u["LoadState"]) == "not-found" {
		return nil, fmt.Errorf("%s is not installed (systemd has no unit of that name)", unit)
	}
	svc, err := c.sd.GetUnitTypePropertiesContext(ctx, unit, "Service")
	if err != nil {
		return nil, fmt.Errorf("cannot read %s from systemd: %w", unit, err)
	}
	v, err := c.bus.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").GetProperty("org.freedesktop.systemd1.Manager.Environment")
	if err != nil {
		return nil, fmt.Errorf("cannot read the service manager's environment: %w", err)
	}
	s := fromProps(unit, u, svc)
	s.Manager, _ = v.Value().([]string)
	return s, s.readProc()
}

// fromProps is a Service from the properties D-Bus gives, by the
// interface: org.freedesktop.systemd1.Unit's and .Service's.
func fromProps(unit string, u, svc map[string]any) *Service {
	s := &Service{
		Unit:             unit,
		LoadState:        str(u["LoadState"]),
		ActiveState:      str(u["ActiveState"]),
		SubState:         str(u["SubState"]),
		NeedDaemonReload: u["NeedDaemonReload"] == true,
		InvocationID:     invocation(u["InvocationID"]),
		FragmentPath:     str(u["FragmentPath"]),
		DropInPaths:      strs(u["DropInPaths"]),
		TriggeredBy:      strs(u["TriggeredBy"]),
		MainPID:          num(svc["MainPID"]),
		ExecStart:        commands(svc["ExecStart"]),
		ExecReload:       commands(svc["ExecReload"]),
		User:             str(svc["User"]),
		Environment:      strs(svc["Environment"]),
		UnsetEnvironment: strs(svc["UnsetEnvironment"]),
		PassEnvironment:  strs(svc["PassEnvironment"]),
	}
	if us := num(svc["ExecMainStartTimestamp"]); us > 0 && s.MainPID > 0 {
		s.Started = time.UnixMicro(int64(us))
	}
	if files, ok := svc["EnvironmentFiles"].([][]any); ok {
		for _, f := range files {
			if len(f) == 2 {
				optional, _ := f[1].(bool)
				s.EnvironmentFiles = append(s.EnvironmentFiles, EnvFile{Path: str(f[0]), Optional: optional})
			}
		}
	}
	if creds, ok := svc["LoadCredential"].([][]any); ok {
		s.Credentials = map[string]string{}
		for _, c := range creds {
			if len(c) == 2 {
				s.Credentials["/run/credentials/"+unit+"/"+str(c[0])] = str(c[1])
			}
		}
	}
	return s
}

func (c *conn) State(ctx context.Context, unit string) (State, error) {
	u, err := c.sd.GetUnitPropertiesContext(ctx, unit)
	if err != nil {
		return State{}, fmt.Errorf("cannot read %s from systemd: %w", unit, err)
	}
	svc, err := c.sd.GetUnitTypePropertiesContext(ctx, unit, "Service")
	if err != nil {
		return State{}, fmt.Errorf("cannot read %s from systemd: %w", unit, err)
	}
	return State{
		ActiveState:  str(u["ActiveState"]),
		SubState:     str(u["SubState"]),
		Result:       str(svc["Result"]),
		StatusText:   str(svc["StatusText"]),
		NRestarts:    num(svc["NRestarts"]),
		MainPID:      num(svc["MainPID"]),
		InvocationID: invocation(u["InvocationID"]),
	}, nil
}

func (c *conn) Listen(ctx context.Context, socket string) ([]string, error) {
	p, err := c.sd.GetUnitTypePropertyContext(ctx, socket, "Socket", "Listen")
	if err != nil {
		return nil, err
	}
	var addrs []string
	listen, _ := p.Value.Value().([][]any)
	for _, l := range listen {
		if len(l) == 2 && str(l[0]) == "Stream" {
			addrs = append(addrs, str(l[1]))
		}
	}
	return addrs, nil
}

// invocation is an InvocationID (ay) as the journal writes it.
func invocation(v any) string {
	id, _ := v.([]byte)
	return hex.EncodeToString(id)
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strs(v any) []string {
	s, _ := v.([]string)
	return s
}

// num is an integer property (u, t or i), 0 when absent.
func num(v any) int {
	switch n := v.(type) {
	case uint32:
		return int(n)
	case uint64:
		return int(n)
	case int32:
		return int(n)
	}
	return 0
}

// commands reads an Exec*= property, a(sasbttttuii): per command its
// path, its argv, whether its failure is ignored, and its last run's
// timestamps and status, of which only the first two matter here.
func commands(v any) []Command {
	list, _ := v.([][]any)
	var cmds []Command
	for _, c := range list {
		if len(c) >= 2 {
			cmds = append(cmds, Command{Path: str(c[0]), Argv: strs(c[1])})
		}
	}
	return cmds
}
