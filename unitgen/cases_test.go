package unitgen

import (
	"github.com/runapp/runapp/launcher"
)

// A case is a configuration rendered with every path under root: "" for the
// golden files, a temporary directory where the paths must exist (for
// systemd-analyze verify, which checks that ExecStart='s program is there).
type testCase struct {
	name string
	opts func(root string) Options
	// argv is what systemd must run: the words ExecStart= holds after
	// systemd has parsed it.
	argv func(root string) []string
	// writable is what ReadWritePaths= must hold.
	writable func(root string) []string
}

// odd has every character that needs care in a unit file.
const odd = `my app $HOME ${X} 100% "q" 's' back\slash ü;`

func strictConfig(root string, h Hardening) Options {
	return Options{
		Config: launcher.Config{
			AppDir: root + "/srv/shop",
			Venv:   root + "/srv/shop/venv",
			Args:   []string{"--bind", "0.0.0.0:80", "--graceful-timeout", "60", "--workers", "3", "shop.wsgi"},
		},
		Runapp:        root + "/usr/local/bin/runapp",
		Name:          "shop",
		Description:   "Shop (Django)",
		User:          "www-data",
		Group:         "www-data",
		Hardening:     h,
		Writable:      []string{root + "/srv/shop/media", root + "/var/lib/shop"},
		After:         []string{"postgresql.service"},
		Wants:         []string{"postgresql.service"},
		ServerVersion: "20.1.0",
	}
}

func strictArgv(root string) []string {
	return []string{root + "/usr/local/bin/runapp", "--app-dir", root + "/srv/shop",
		"--env-file", ".env", "--venv", root + "/srv/shop/venv",
		"--", "--bind", "0.0.0.0:80", "--graceful-timeout", "60", "--workers", "3", "shop.wsgi"}
}

func strictWritable(root string) []string {
	return []string{root + "/srv/shop/media", root + "/var/lib/shop"}
}

var cases = []testCase{{
	// The seed unit's shape: no sandboxing, an older gunicorn that
	// does not notify, PYTHONPATH from src.
	name: "seed",
	opts: func(root string) Options {
		return Options{
			Config: launcher.Config{
				AppDir:     root + "/srv/app",
				PythonPath: []string{"src"},
				Venv:       "/opt/venvs/app",
				Args:       []string{"project.wsgi"},
			},
			Runapp:        root + "/usr/local/bin/runapp",
			Name:          "app",
			User:          "app",
			Group:         "app",
			Hardening:     None,
			ServerVersion: "19.9.0",
		}
	},
	argv: func(root string) []string {
		return []string{root + "/usr/local/bin/runapp", "--app-dir", root + "/srv/app",
			"--env-file", ".env", "--venv", "/opt/venvs/app",
			"--pythonpath", root + "/srv/app/src", "--", "project.wsgi"}
	},
}, {
	name:     "strict",
	opts:     func(root string) Options { return strictConfig(root, Strict) },
	argv:     strictArgv,
	writable: strictWritable,
}, {
	name:     "basic",
	opts:     func(root string) Options { return strictConfig(root, Basic) },
	argv:     strictArgv,
	writable: strictWritable,
}, {
	name: "none",
	opts: func(root string) Options { return strictConfig(root, None) },
	argv: strictArgv,
}, {
	// Binding an unprivileged port itself: no capability, so a user
	// namespace of its own.
	name: "strict-highport",
	opts: func(root string) Options {
		o := strictConfig(root, Strict)
		o.Config.Args = []string{"-b127.0.0.1:8000", "--bind=[::1]:8000", "shop.wsgi"}
		return o
	},
	argv: func(root string) []string {
		return append(strictArgv(root)[:7], "--", "-b127.0.0.1:8000", "--bind=[::1]:8000", "shop.wsgi")
	},
	writable: strictWritable,
}, {
	name: "socket-tcp",
	opts: func(root string) Options {
		o := strictConfig(root, Strict)
		o.Listen = "127.0.0.1:80"
		o.Config.Args = []string{"shop.wsgi"}
		return o
	},
	argv: func(root string) []string {
		return append(strictArgv(root)[:7], "--", "shop.wsgi")
	},
	writable: strictWritable,
}, {
	name: "socket-unix",
	opts: func(root string) Options {
		o := strictConfig(root, Strict)
		o.Listen = "/run/shop/shop.sock"
		o.Config.Args = nil
		o.Writable = nil
		return o
	},
	argv: func(root string) []string { return strictArgv(root)[:7] },
}, {
	// gunicorn binds unix sockets itself: in /run/shop, which systemd
	// makes, and in the app directory, which must be writable.
	name: "unix-bind",
	opts: func(root string) Options {
		o := strictConfig(root, Strict)
		o.Config.Args = []string{"--bind", "unix:/run/shop/gunicorn.sock", "--bind", "unix:///var/lib/shop/run/g.sock"}
		o.Writable = nil
		return o
	},
	argv: func(root string) []string {
		return append(strictArgv(root)[:7], "--", "--bind", "unix:/run/shop/gunicorn.sock", "--bind", "unix:///var/lib/shop/run/g.sock")
	},
	writable: func(root string) []string { return []string{"/var/lib/shop/run"} },
}, {
	// The env files are root's, mode 0600: systemd hands them over.
	name: "credential",
	opts: func(root string) Options {
		o := strictConfig(root, Strict)
		o.Config.EnvFiles = []string{".env", "/etc/shop/prod.env", "config/.env"}
		o.Credential = true
		o.EnvironmentFile = true
		return o
	},
	argv: func(root string) []string {
		cred := "/run/credentials/shop.service/"
		return append(strictArgv(root)[:3], "--venv", root+"/srv/shop/venv",
			"--env-file", cred+"env", "--env-file", cred+"prod.env", "--env-file", cred+"env-2",
			"--", "--bind", "0.0.0.0:80", "--graceful-timeout", "60", "--workers", "3", "shop.wsgi")
	},
	writable: strictWritable,
}, {
	name: "environment-file",
	opts: func(root string) Options {
		o := strictConfig(root, Basic)
		o.Config.EnvFiles = []string{".env", "-.env.local"}
		o.EnvironmentFile = true
		return o
	},
	argv: func(root string) []string {
		return append(strictArgv(root)[:5], "--env-file", "-.env.local", "--venv", root+"/srv/shop/venv",
			"--", "--bind", "0.0.0.0:80", "--graceful-timeout", "60", "--workers", "3", "shop.wsgi")
	},
	writable: strictWritable,
}, {
	// A server that is not gunicorn, named by path, in a home directory.
	name: "home-server",
	opts: func(root string) Options {
		return Options{
			Config: launcher.Config{
				AppDir: root + "/home/deploy/site",
				Server: "bin/serve",
			},
			Runapp: root + "/home/deploy/bin/runapp",
			Name:   "site",
			User:   "deploy",
		}
	},
	argv: func(root string) []string {
		return []string{root + "/home/deploy/bin/runapp", "--app-dir", root + "/home/deploy/site",
			"--env-file", ".env", "--server", root + "/home/deploy/site/bin/serve"}
	},
}, {
	name: "odd",
	opts: func(root string) Options {
		dir := root + "/srv/" + odd
		return Options{
			Config: launcher.Config{
				AppDir:     dir,
				EnvFiles:   []string{"-" + odd + ".env"},
				PythonPath: []string{odd},
				Args:       []string{"--bind", "127.0.0.1:8000", "--env", "A=" + odd, "", ";", "-", `\`, `"`, `'`, "%", "$", "$$", "%%", "%d", "$MAINPID", "${A}", "tab less", "ü", "x\\\"y"},
			},
			Runapp:        root + "/opt/run app 100% ü/runapp",
			Name:          "odd",
			Description:   odd,
			User:          "www-data",
			Writable:      []string{dir + "/media"},
			ServerVersion: "21.2.0",
		}
	},
	argv: func(root string) []string {
		dir := root + "/srv/" + odd
		return []string{root + "/opt/run app 100% ü/runapp", "--app-dir", dir,
			"--env-file", "-" + odd + ".env", "--pythonpath", dir + "/" + odd,
			"--", "--bind", "127.0.0.1:8000", "--env", "A=" + odd, "", ";", "-", `\`, `"`, `'`, "%", "$", "$$", "%%", "%d", "$MAINPID", "${A}", "tab less", "ü", "x\\\"y"}
	},
	writable: func(root string) []string { return []string{root + "/srv/" + odd + "/media"} },
}, {
	// The ASGI servers of the table (issue 13): Type=exec, no ExecReload=
	// (HUP kills them), the stop timeout from each graceful stop, the
	// capability only for a port below 1024.
	name: "uvicorn",
	opts: func(root string) Options {
		return asgiConfig(root, "uvicorn", "0.17.6", "--host", "127.0.0.1", "--port", "8000", "api:app")
	},
	argv: func(root string) []string {
		return asgiArgv(root, "uvicorn", "--host", "127.0.0.1", "--port", "8000", "api:app")
	},
	writable: strictWritable,
}, {
	name: "hypercorn",
	opts: func(root string) Options {
		return asgiConfig(root, "hypercorn", "any", "--bind", "0.0.0.0:443", "--graceful-timeout", "20", "api:app")
	},
	argv: func(root string) []string {
		return asgiArgv(root, "hypercorn", "--bind", "0.0.0.0:443", "--graceful-timeout", "20", "api:app")
	},
	writable: strictWritable,
}, {
	name: "daphne-socket-unix",
	opts: func(root string) Options {
		o := asgiConfig(root, "daphne", "any", "-e", "systemd:domain=UNIX:index=0", "shop.asgi:application")
		o.Listen = "/run/shop/shop.sock"
		return o
	},
	argv: func(root string) []string {
		return asgiArgv(root, "daphne", "-e", "systemd:domain=UNIX:index=0", "shop.asgi:application")
	},
	writable: strictWritable,
}, {
	// With --socket and no SERVER-ARGS: the unit adds --fd 3, and runapp
	// serves the project's asgi.py after it.
	name: "uvicorn-socket",
	opts: func(root string) Options {
		o := asgiConfig(root, "uvicorn", "0.17.6")
		o.Listen = "8000"
		return o
	},
	argv: func(root string) []string {
		return asgiArgv(root, "uvicorn", "--fd", "3")
	},
	writable: strictWritable,
}, {
	// gunicorn's master with uvicorn's workers: gunicorn's unit.
	name: "gunicorn-uvicorn",
	opts: func(root string) Options {
		o := asgiConfig(root, "gunicorn", "20.1.0", "-k", "uvicorn.workers.UvicornWorker", "--bind", "127.0.0.1:8000", "api:app")
		o.Config.Server = ""
		return o
	},
	argv: func(root string) []string {
		return append(strictArgv(root)[:7], "--", "-k", "uvicorn.workers.UvicornWorker", "--bind", "127.0.0.1:8000", "api:app")
	},
	writable: strictWritable,
}, {
	// A server not in the table, under the hardening of strict: the
	// conservative unit.
	name: "unknown-server",
	opts: func(root string) Options {
		o := asgiConfig(root, "granian", "", "--interface", "asgi", "api:app")
		return o
	},
	argv: func(root string) []string {
		return asgiArgv(root, "granian", "--interface", "asgi", "api:app")
	},
	writable: strictWritable,
}}

func asgiConfig(root, srv, version string, args ...string) Options {
	o := strictConfig(root, Strict)
	o.Config.Server = srv
	o.Config.Args = args
	o.ServerVersion = version
	return o
}

func asgiArgv(root, srv string, args ...string) []string {
	return append([]string{root + "/usr/local/bin/runapp", "--app-dir", root + "/srv/shop",
		"--env-file", ".env", "--venv", root + "/srv/shop/venv", "--server", srv, "--"}, args...)
}
