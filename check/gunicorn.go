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

	"github.com/runapp/runapp/server"
)

// setting is one gunicorn setting as one source gives it.
type setting struct {
	values []string // in order; several for a repeated append option (--bind)
	where  string   // "SERVER-ARGS", "GUNICORN_CMD_ARGS (.env:4)", "gunicorn.conf.py:12"
	secret bool     // from an env file or the inherited environment: never print the value
	known  bool     // false: a gunicorn.conf.py expression check cannot read
}

func (s setting) last() string { return s.values[len(s.values)-1] }

// server is the planned program's entry in runapp's server table, nil for
// a server runapp knows nothing of.
func (c *checker) server() *server.Server {
	if len(c.plan.Argv) == 0 {
		return nil
	}
	return server.Lookup(c.plan.Argv[0])
}

// gunicornSettings are the settings from every source, the effective one
// for each name first: command line over GUNICORN_CMD_ARGS over the
// configuration file, as gunicorn applies them.
type gunicornSettings struct {
	cli, env, file map[string]setting
	app            string // the application argument, "" when none
	confPath       string // the configuration file read, "" when none
	confName       string // how to name it in a problem
}

func (g *gunicornSettings) get(name string) (setting, bool) {
	for _, src := range []map[string]setting{g.cli, g.env, g.file} {
		if s, ok := src[name]; ok {
			return s, true
		}
	}
	return setting{}, false
}

// gunicornConfig collects gunicorn's settings, reporting what cannot be
// read.
func (c *checker) gunicornConfig() *gunicornSettings {
	g := &gunicornSettings{cli: map[string]setting{}, env: map[string]setting{}, file: map[string]setting{}}
	cli, positional, err := server.ParseGunicornArgs(c.plan.Argv[1:])
	if err != nil {
		c.add(Error, IDGunicornArgs, "SERVER-ARGS", err.Error(), "")
	}
	for name, values := range cli {
		g.cli[name] = setting{values: values, where: "SERVER-ARGS", known: true}
	}
	if len(positional) > 0 {
		g.app = positional[0]
	}
	if v, ok := c.plan.Lookup("GUNICORN_CMD_ARGS"); ok {
		where := "GUNICORN_CMD_ARGS (" + v.Where() + ")"
		words, err := server.SplitGunicornCmdArgs(v.Value)
		if err == nil {
			var env map[string][]string
			env, _, err = server.ParseGunicornArgs(words)
			for name, values := range env {
				g.env[name] = setting{values: values, where: where, secret: true, known: true}
			}
		}
		if err != nil {
			c.add(Error, IDGunicornArgs, where, "gunicorn cannot read GUNICORN_CMD_ARGS: "+strings.TrimPrefix(err.Error(), "gunicorn "), "")
		}
	}
	c.gunicornFile(g)
	return g
}

// gunicornFile reads the configuration file: --config, else
// gunicorn.conf.py in the directory gunicorn starts in.
func (c *checker) gunicornFile(g *gunicornSettings) {
	name, given := "gunicorn.conf.py", false
	if s, ok := g.get("config"); ok {
		name, given = s.last(), true
		if s.secret {
			g.confName = "the --config of " + s.where
		}
	}
	if strings.HasPrefix(name, "python:") {
		return // a module: check cannot read it without importing it
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(c.plan.Dir, path)
	}
	if g.confName == "" {
		g.confName = c.relName(path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if given || !errors.Is(err, fs.ErrNotExist) {
			c.add(Error, IDGunicornConfig, g.confName, fmt.Sprintf("gunicorn cannot read its configuration file: %v", errors.Unwrap(err)),
				"create it, or fix the --config option")
		}
		return
	}
	g.confPath = path
	for name, v := range server.GunicornConf(data) {
		g.file[name] = setting{values: v.Values, where: fmt.Sprintf("%s:%d", g.confName, v.Line), known: v.Known}
	}
}

// relName names a path relative to the app directory when it is inside.
func (c *checker) relName(path string) string {
	if rel, err := filepath.Rel(c.plan.Dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

// checkGunicorn checks the settings that fight systemd, and the
// application; appReported and pyBroke are as checkApp takes them.
func (c *checker) checkGunicorn(appReported, pyBroke bool) {
	g := c.gunicornConfig()
	for _, name := range []string{"daemon", "pidfile", "bind", "graceful_timeout", "wsgi_app", "chdir", "pythonpath"} {
		if s, ok := g.file[name]; ok && !s.known {
			if g.cli[name].values == nil && g.env[name].values == nil {
				c.add(Warning, IDGunicornUnknown, s.where,
					fmt.Sprintf("%s is computed, and check does not run gunicorn.conf.py to learn its value", name),
					"check it by hand, or write it as a plain value")
			}
		}
	}
	if s, ok := g.get("daemon"); ok && s.known && server.GunicornTrue(s.last()) {
		c.add(Error, IDGunicornDaemon, s.where,
			"gunicorn is told to daemonize: it forks into the background and the process systemd started exits, so systemd loses the server (and stops or restarts it)",
			"remove daemon; under systemd gunicorn runs in the foreground")
	}
	if s, ok := g.get("pidfile"); ok && s.known && s.last() != "None" && s.last() != "" {
		c.add(Warning, IDGunicornPidfile, s.where,
			"gunicorn writes a pidfile: systemd already knows the server's PID (runapp execs gunicorn, so it is the main PID), and the file goes stale or cannot be written under a hardened unit",
			"remove pidfile")
	}
	c.checkBind(g)
	c.checkGraceful(g)
	c.checkPreload(g)
	c.checkApp(g, appReported, pyBroke)
	c.checkWorker(g)
}

// checkBind: a port below the unprivileged range needs a capability or a
// socket unit.
func (c *checker) checkBind(g *gunicornSettings) {
	if c.user == nil || c.user.UID == 0 {
		return // root may bind any port; with no user known, nobody to check for
	}
	if c.unit != nil && (c.hasSocket() || c.unitHasCap("CAP_NET_BIND_SERVICE")) {
		return
	}
	start := unprivilegedPortStart()
	s, ok := g.get("bind")
	if !ok {
		// gunicorn's default: $PORT when set, else 127.0.0.1:8000.
		if v, set := c.plan.Lookup("PORT"); set {
			s = setting{values: []string{"0.0.0.0:" + v.Value}, where: "PORT (" + v.Where() + ")", secret: true, known: true}
		}
	}
	if !s.known {
		return
	}
	who := "user " + c.user.Name
	for _, b := range s.values {
		port, ok := bindPort(b)
		if !ok || port >= start {
			continue
		}
		what := fmt.Sprintf("port %d", port)
		if s.secret {
			what = "a port"
		}
		if c.unit != nil {
			c.add(Error, IDGunicornBind, s.where,
				fmt.Sprintf("gunicorn binds %s, below %d: %s needs CAP_NET_BIND_SERVICE for that, and the unit neither grants it nor has a socket unit", what, start, who),
				"add AmbientCapabilities=CAP_NET_BIND_SERVICE to the unit, or let systemd listen (runapp unit --socket PORT)")
		} else {
			c.add(Warning, IDGunicornBind, s.where,
				fmt.Sprintf("gunicorn binds %s, below %d: %s needs CAP_NET_BIND_SERVICE for that, or a socket unit", what, start, who),
				"runapp unit writes AmbientCapabilities=CAP_NET_BIND_SERVICE for such a bind, or use --socket; check the unit with --unit")
		}
		return
	}
}

// bindPort is the TCP port of a gunicorn bind address; false for unix:
// and fd:// addresses, and a port that is not a number.
func bindPort(addr string) (int, bool) {
	b := server.GunicornBind(addr)
	return b.Port, b.TCP && b.Port > 0
}

// unprivilegedPortStart is the lowest port anyone may bind.
func unprivilegedPortStart() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		return 1024
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 1024
	}
	return n
}

// checkGraceful: systemd must wait longer than gunicorn's graceful timeout
// after SIGTERM, or it kills requests still being served.
func (c *checker) checkGraceful(g *gunicornSettings) {
	if c.unit == nil {
		return
	}
	graceful, where := c.server().GracefulTimeout, "gunicorn's default"
	if s, ok := g.get("graceful_timeout"); ok {
		if !s.known {
			return
		}
		n, err := strconv.ParseFloat(s.last(), 64)
		if err != nil {
			return
		}
		graceful, where = time.Duration(n*float64(time.Second)), s.where
	}
	stop, unitWhere := c.unitStopTimeout()
	if stop == 0 || stop > graceful {
		return
	}
	s, _ := g.get("graceful_timeout")
	gv := fmt.Sprintf("%s, %s", graceful, where)
	if s.secret {
		gv = where
	}
	c.add(Error, IDGunicornGracefulTimeout, unitWhere,
		fmt.Sprintf("systemd kills the service %s after SIGTERM, before gunicorn's graceful_timeout (%s) lets running requests finish", stop, gv),
		"make TimeoutStopSec= longer than graceful_timeout (runapp unit adds 10s to it), or lower graceful_timeout")
}
