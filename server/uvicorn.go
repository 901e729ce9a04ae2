package server

// uvicorn, as of 0.17.6 (Debian 12's python3-uvicorn). Each fact below is
// shown against the real server by a test in integration/asgi_test.go,
// named in the comment.

import (
	"fmt"
	"strconv"
	"strings"
)

var uvicorn = Server{
	Name: "uvicorn",
	Kind: Web,
	// uvicorn sends nothing to NOTIFY_SOCKET (TestASGIReadiness): Type=exec.
	NotifySince: "",
	// uvicorn handles INT and TERM only; HUP kills it (TestASGIReload), and
	// a --workers supervisor too, whose workers then serve on as orphans
	// (TestASGISupervisorHUP). A reload is a restart.
	ReloadSignal: "",
	// TERM: uvicorn stops accepting, then waits for every connection to
	// finish, with no bound of its own (TestASGIStop); 0.17 has no
	// --timeout-graceful-shutdown, added in 0.20 (TestASGIOptionsRefused).
	GracefulTimeout:   0,
	GracefulUnbounded: true,
	// But a connection it has accepted and not read a request from yet,
	// it closes at once, unanswered (TestASGIStopClosesUnread); so does
	// its worker class under gunicorn.
	closesUnread: true,
	// --fd 3 serves the socket systemd passes, of any family: uvicorn hands
	// it to asyncio as it is (TestASGISocketActivation).
	SocketArgs: []string{"--fd", "3"},
	// With no application, the Django project's asgi.py.
	DjangoApp: "asgi:application",
	version:   uvicornVersion,
	args:      uvicornArgs,
}

// uvicornDefaultPort is --port's default; --host's is 127.0.0.1.
const uvicornDefaultPort = 8000

// uvicornOptions are uvicorn 0.17.6's options (uvicorn.main.main's click
// parameters: a test compares them), plus --timeout-graceful-shutdown of
// 0.20 and later, which bounds the graceful stop.
var uvicornOptions = [...]pyOpt{
	{"--host", "host", true},
	{"--port", "port", true},
	{"--uds", "uds", true},
	{"--fd", "fd", true},
	{"--debug", "debug", false},
	{"--reload", "reload", false},
	{"--reload-dir", "reload_dirs", true},
	{"--reload-include", "reload_includes", true},
	{"--reload-exclude", "reload_excludes", true},
	{"--reload-delay", "reload_delay", true},
	{"--workers", "workers", true},
	{"--loop", "loop", true},
	{"--http", "http", true},
	{"--ws", "ws", true},
	{"--ws-max-size", "ws_max_size", true},
	{"--ws-ping-interval", "ws_ping_interval", true},
	{"--ws-ping-timeout", "ws_ping_timeout", true},
	{"--ws-per-message-deflate", "ws_per_message_deflate", true},
	{"--lifespan", "lifespan", true},
	{"--interface", "interface", true},
	{"--env-file", "env_file", true},
	{"--log-config", "log_config", true},
	{"--log-level", "log_level", true},
	{"--access-log --no-access-log", "access_log", false},
	{"--use-colors --no-use-colors", "use_colors", false},
	{"--proxy-headers --no-proxy-headers", "proxy_headers", false},
	{"--server-header --no-server-header", "server_header", false},
	{"--date-header --no-date-header", "date_header", false},
	{"--forwarded-allow-ips", "forwarded_allow_ips", true},
	{"--root-path", "root_path", true},
	{"--limit-concurrency", "limit_concurrency", true},
	{"--backlog", "backlog", true},
	{"--limit-max-requests", "limit_max_requests", true},
	{"--timeout-keep-alive", "timeout_keep_alive", true},
	{"--ssl-keyfile", "ssl_keyfile", true},
	{"--ssl-certfile", "ssl_certfile", true},
	{"--ssl-keyfile-password", "ssl_keyfile_password", true},
	{"--ssl-version", "ssl_version", true},
	{"--ssl-cert-reqs", "ssl_cert_reqs", true},
	{"--ssl-ca-certs", "ssl_ca_certs", true},
	{"--ssl-ciphers", "ssl_ciphers", true},
	{"--header", "headers", true},
	{"--version", "version", false},
	{"--app-dir", "app_dir", true},
	{"--factory", "factory", false},
	{"--help", "help", false},
	// 0.20 and later.
	{"--timeout-graceful-shutdown", "timeout_graceful_shutdown", true},
}

// uvicornArgs reads uvicorn's command line as click does. uvicorn also
// reads each option from UVICORN_NAME (click's auto_envvar_prefix) and
// --workers from WEB_CONCURRENCY, which are not seen here: like
// gunicorn.conf.py for gunicorn, they may change the binds.
func uvicornArgs(args []string) (Args, error) {
	p, err := parseClick(uvicornOptions[:], 1, args)
	a := Args{Graceful: 0, GracefulUnbounded: true}
	if err != nil {
		return a, fmt.Errorf("uvicorn would refuse its arguments: %v", err)
	}
	return uvicornRead(p)
}

// uvicornRead fills Args from uvicorn's settings.
func uvicornRead(p pyArgs) (Args, error) {
	a := Args{Graceful: 0, GracefulUnbounded: true}
	if len(p.positional) > 0 {
		a.App = p.positional[0]
	}
	if v, ok := p.last("timeout_graceful_shutdown"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return a, fmt.Errorf("--timeout-graceful-shutdown %q is not a number of seconds", v)
		}
		a.Graceful, a.GracefulUnbounded = seconds(n), false
	}
	// uvicorn binds the first of --fd, --uds, --host/--port
	// (uvicorn.server.Server.startup).
	fd, hasFD := p.last("fd")
	uds, hasUDS := p.last("uds")
	host, hasHost := p.last("host")
	port, hasPort := p.last("port")
	switch {
	case hasFD:
		a.Binds = []Bind{{Addr: "fd://" + fd}}
	case hasUDS:
		a.Binds = []Bind{{Addr: "unix:" + uds, Unix: uds}}
	case hasHost || hasPort:
		if !hasHost {
			host = "127.0.0.1"
		}
		b := Bind{Addr: joinHostPort(host, port), TCP: true, Port: uvicornDefaultPort}
		if hasPort {
			b.Port = 0
			if n, err := strconv.Atoi(port); err == nil && n >= 0 && n < 65536 {
				b.Port = n
			}
		}
		a.Binds = []Bind{b}
	}
	if v, ok := p.last("reload"); ok && v == "True" {
		a.Supervisor, a.Reloader = "--reload", "--reload"
	} else if v, ok := p.last("workers"); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 1 {
			a.Supervisor = "--workers " + v
		}
	}
	return a, nil
}

// joinHostPort writes host and port as an address, the port "" when none
// is given.
func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" {
		return host
	}
	return host + ":" + port
}

// uvicornVersion returns VERSION from the "Running uvicorn VERSION with
// ..." line that uvicorn --version prints, or "".
func uvicornVersion(out []byte) string {
	_, rest, ok := strings.Cut(string(out), "Running uvicorn ")
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, " ")
	if v == "" || v[0] < '0' || v[0] > '9' {
		return ""
	}
	return v
}
