package unitgen

import (
	"fmt"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/unit"

	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/server"
)

// Process makes a unit run one process type of the app's Procfile
// (Options.Config.Process), fitted to its row of the table.
type Process struct {
	// Argv is the process's command as the plan splits it: its table
	// entry comes from it (server.ForProcess).
	Argv []string
	// Target is the app's target, NAME.target, that the unit is part of:
	// starting, stopping or restarting it does the same to the unit.
	Target string
	// LongestTask is how long the longest task of a worker may run: a
	// worker's warm shutdown waits for it, so TimeoutStopSec= is it and a
	// margin. 0: as long as a web server's graceful stop.
	LongestTask time.Duration
	// Template makes NAME@.service, whose instances the target starts.
	Template bool
	// Calendar makes a Type=oneshot service that NAME.timer starts on this
	// OnCalendar= schedule.
	Calendar string
}

// App is a whole app described by its Procfile: Options for what every
// unit shares (Name is the app's, Listen and ServerVersion the web
// process's), and the process types.
type App struct {
	Options
	Processes []AppProcess
	// LongestTask is Process.LongestTask for every worker.
	LongestTask time.Duration
}

// AppProcess is one process type of the app.
type AppProcess struct {
	Name  string   // the process type
	Argv  []string // its command, as the plan splits it
	Scale int      // instances of a template unit; 0 for a plain unit
	// Calendar runs the process on a schedule, by a timer.
	Calendar string
}

// File is a unit file written.
type File struct{ Name, Text string }

// Units renders the app's units: per process type a service (NAME-TYPE,
// with its socket for the web process, a template with --scale, a timer
// with a calendar), then NAME.target, which wants them all. The release
// process type has none: runapp deploy runs it. Bad options are a
// *launcher.Error.
func Units(a App) ([]File, error) {
	if err := checkAppName(a.Name); err != nil {
		return nil, err
	}
	target := a.Name + ".target"
	var files []File
	var wants []string
	for _, p := range a.Processes {
		srv, err := server.ForProcess(p.Name, p.Argv)
		if err != nil {
			return nil, launcher.Errorf(launcher.ExitConfig, "process %s: %v", p.Name, err)
		}
		if srv.Kind == server.Release {
			continue
		}
		o := a.Options
		o.Name = a.Name + "-" + p.Name
		o.Config.Process = p.Name
		o.Config.Server, o.Config.Args = "", nil
		o.Process = &Process{Argv: p.Argv, Target: target, Template: p.Scale > 0, Calendar: p.Calendar}
		if srv.Kind == server.Worker {
			o.Process.LongestTask = a.LongestTask
		}
		if srv.Kind != server.Web || p.Calendar != "" || p.Scale > 0 {
			o.Listen, o.ServerVersion = "", ""
		}
		u, err := newUnits(o)
		if err != nil {
			return nil, err
		}
		text, err := render(u.fileName(), u.service())
		if err != nil {
			return nil, err
		}
		files = append(files, File{u.fileName(), text})
		switch {
		case o.Listen != "":
			text, err := render(u.name+".socket", u.socket())
			if err != nil {
				return nil, err
			}
			files = append(files, File{u.name + ".socket", text})
			wants = append(wants, u.name+".socket", u.fileName())
		case p.Calendar != "":
			text, err := render(u.name+".timer", u.timer())
			if err != nil {
				return nil, err
			}
			files = append(files, File{u.name + ".timer", text})
			wants = append(wants, u.name+".timer")
		case p.Scale > 0:
			for i := 1; i <= p.Scale; i++ {
				wants = append(wants, fmt.Sprintf("%s@%d.service", u.name, i))
			}
		default:
			wants = append(wants, u.fileName())
		}
	}
	text, err := render(target, a.target(wants))
	if err != nil {
		return nil, err
	}
	return append(files, File{target, text}), nil
}

// checkAppName checks the app's name, which prefixes every unit's.
func checkAppName(name string) error {
	if !validUnitName(name+".target") || strings.Contains(name, "@") {
		return usage("unit name %q is not valid: use letters, digits and :-_.\\ (see systemd.unit(5)); pick one with --name", name)
	}
	return nil
}

func (a *App) target(wants []string) []*unit.UnitOption {
	un := &section{name: "Unit"}
	desc := a.Description
	if desc == "" {
		desc = "the app in " + a.Config.AppDir + ", started by runapp"
	}
	un.add("Description", specifiers(desc))
	// Wants=, not Requires=: one process failing does not stop the others;
	// each service's PartOf= makes stop and restart of the target reach it.
	un.add("Wants", strings.Join(wants, " "))
	in := &section{name: "Install"}
	in.add("WantedBy", "multi-user.target")
	return join(un, in)
}

// fileName is the service's file name: NAME.service, or NAME@.service for
// a template.
func (u *units) fileName() string {
	if u.Process != nil && u.Process.Template {
		return u.name + "@.service"
	}
	return u.name + ".service"
}

// timer is NAME.timer, which starts NAME.service on the calendar. A timer
// starts its service only when it is not running: a job still running when
// the next is due is not started twice.
func (u *units) timer() []*unit.UnitOption {
	un := &section{name: "Unit"}
	un.add("Description", specifiers(u.description())+" (timer)")
	un.add("PartOf", u.Process.Target)
	un.add("After", u.Process.Target)
	t := &section{name: "Timer"}
	t.add("OnCalendar", u.Process.Calendar)
	in := &section{name: "Install"}
	in.add("WantedBy", u.Process.Target)
	return join(un, t, in)
}

// readProcess looks up the Procfile process's entry in the table and reads
// its command, as readServer does the server's.
func (u *units) readProcess() error {
	p := u.Process
	if len(p.Argv) == 0 {
		return usage("process %s: no command", u.Config.Process)
	}
	srv, err := server.ForProcess(u.Config.Process, p.Argv)
	if err != nil {
		return launcher.Errorf(launcher.ExitConfig, "process %s: %v", u.Config.Process, err)
	}
	switch srv.Kind {
	case server.Release:
		return usage("process release is run by runapp deploy, before the others restart, and is never a service")
	case server.Web:
		if u.ServerVersion == "" {
			u.Listen = ""
			return nil // assume nothing of it, as of a server not in the table
		}
		if u.notify, err = srv.Notifies(u.ServerVersion); err != nil {
			return usage("%v", err)
		}
	}
	args, err := srv.ReadArgs(p.Argv[1:])
	if err != nil {
		return launcher.Errorf(launcher.ExitConfig, "process %s: %v", u.Config.Process, err)
	}
	u.server, u.args = srv, &args
	if u.Listen != "" {
		// The unit cannot add the argument that takes systemd's socket:
		// the Procfile's command is run as written.
		if want := srv.SocketArgsFor(u.listenUnix, strings.HasPrefix(u.Listen, "[")); len(want) > 0 && !containsRun(p.Argv[1:], want) {
			return usage("with a socket, %s serves it when given %s: add that to the Procfile's %s command (and drop its own bind), or give --socket none", srv.Name, strings.Join(want, " "), u.Config.Process)
		}
	}
	return nil
}
