package check

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/runapp/runapp/server"
)

// checkServerArgs checks the command line of a server in runapp's table
// other than gunicorn (whose settings checkGunicorn reads from every
// source): what it would refuse, and the options that put something other
// than the server in MainPID's place.
func (c *checker) checkServerArgs(srv *server.Server) {
	a, err := srv.ReadArgs(c.plan.Argv[1:])
	if err != nil {
		c.add(Error, IDServerArgs, "SERVER-ARGS", err.Error(), "")
		return
	}
	switch {
	case a.Reloader != "" && a.Reloader == a.Supervisor:
		// uvicorn's reloader (TestASGISupervisor).
		c.add(Warning, IDServerReload, "SERVER-ARGS",
			fmt.Sprintf("%s %s is a development aid: a reloader process takes MainPID's place and runs the app in a child it restarts whenever a file changes, mid-deploy too; HUP kills it and leaves the app serving, orphaned", srv.Name, a.Reloader),
			fmt.Sprintf("remove %s; to serve new code, restart the service", a.Reloader))
	case a.Reloader != "":
		// hypercorn's polls every module and re-executes itself.
		c.add(Warning, IDServerReload, "SERVER-ARGS",
			fmt.Sprintf("%s %s is a development aid: it polls every module file and re-executes itself when one changes, mid-deploy too, dropping requests in flight", srv.Name, a.Reloader),
			fmt.Sprintf("remove %s; to serve new code, restart the service", a.Reloader))
	case a.Supervisor != "":
		// TestASGISupervisor, TestASGISupervisorHUP.
		c.add(Warning, IDServerSupervisor, "SERVER-ARGS",
			fmt.Sprintf("%s %s puts a supervisor process in MainPID's place, with the app in its children: it handles TERM and INT only, so HUP kills it and the workers serve on, orphaned; and a worker that dies is neither replaced nor seen by systemd", srv.Name, a.Supervisor),
			"for several processes, run gunicorn -k uvicorn.workers.UvicornWorker --workers N, whose master is built for it (READY=1, HUP reloads), or drop the option")
	}
}

// checkWorker: gunicorn's worker class calls the application as WSGI unless
// it is uvicorn's; an ASGI application cannot answer that call, and every
// request fails with 500 (TestASGIUnderSyncWorker).
func (c *checker) checkWorker(g *gunicornSettings) {
	worker, where := "sync", "SERVER-ARGS"
	if s, ok := g.get("worker_class"); ok {
		if !s.known {
			return
		}
		worker, where = s.last(), s.where
	}
	if server.GunicornASGIWorker(worker) {
		return
	}
	app := g.app
	if app == "" {
		s, ok := g.file["wsgi_app"]
		if !ok || !s.known {
			return
		}
		app = s.last()
	}
	module, _, _ := strings.Cut(app, ":")
	if !moduleName(module) {
		return // checkApp says so
	}
	why := ""
	if module == "asgi" || strings.HasSuffix(module, ".asgi") {
		why = "the module is Django's asgi.py"
	} else {
		roots, _ := c.pyRoots(g)
		for _, r := range roots {
			if path := modulePath(r.dir, module); path != "" {
				why = asgiImport(path)
				break
			}
		}
	}
	if why == "" {
		return
	}
	msg := fmt.Sprintf("%s looks like an ASGI application (%s), and gunicorn's %s worker calls it as WSGI, app(environ, start_response), which it cannot answer: every request fails with 500", app, why, worker)
	if _, ok := g.get("worker_class"); !ok {
		msg = fmt.Sprintf("%s looks like an ASGI application (%s), and gunicorn's default sync worker calls it as WSGI, app(environ, start_response), which it cannot answer: every request fails with 500", app, why)
	}
	c.add(Error, IDGunicornWorker, where, msg,
		"serve it with uvicorn's worker: -k uvicorn.workers.UvicornWorker (or serve project.wsgi for Django)")
}

// modulePath is the file of module under root, "" when there is none.
func modulePath(root, module string) string {
	base := filepath.Join(root, filepath.FromSlash(strings.ReplaceAll(module, ".", "/")))
	for _, p := range []string{base + ".py", filepath.Join(base, "__init__.py")} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// asgiImports are the modules whose import marks an ASGI application; the
// last is Django's ASGI handler, and channels' router.
var asgiImports = [...]string{"fastapi", "starlette", "quart", "litestar", "django.core.asgi", "channels.routing"}

// asgiImport says why the Python file at path looks like an ASGI
// application: it imports one of asgiImports at the start of a line, or
// calls get_asgi_application; "" when it does not. Read, not run.
func asgiImport(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 0; sc.Scan() && n < 2000; n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.Contains(line, "get_asgi_application(") {
			return "it calls get_asgi_application"
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[0] != "from" && fields[0] != "import" {
			continue
		}
		for _, m := range asgiImports {
			if name := strings.TrimSuffix(fields[1], ","); name == m || strings.HasPrefix(name, m+".") {
				return "it imports " + m
			}
		}
	}
	return ""
}

// checkServerUnit: the unit's Type= and ExecReload= against what the table
// says of the server (TestASGIReadiness, TestASGIReload).
func (c *checker) checkServerUnit(srv *server.Server) {
	u := c.unit
	if t, where, ok := u.get("Service", "Type"); ok && t == "notify" && srv.NotifySince == "" {
		c.add(Error, IDUnitType, where,
			fmt.Sprintf("Type=notify waits for READY=1, which %s never sends: systemd fails the start at TimeoutStartSec= and kills it", srv.Name),
			"use Type=exec (runapp unit writes it)")
	}
	if srv.ReloadSignal != "" {
		return
	}
	// A command of its own gives no signal: what it does is not known.
	signal, where := reloadSignal(u)
	if signal == "" {
		return
	}
	c.add(Error, IDUnitReload, where,
		fmt.Sprintf("ExecReload= sends %s to %s, which has no reload: a signal it does not handle kills it (HUP does), so systemctl reload stops the service, and Restart=on-failure hides that as a crash", signal, srv.Name),
		"remove ExecReload=: systemd then refuses systemctl reload as not applicable, and new code or settings need systemctl restart")
}
