package server

// hypercorn, as of 0.13.2 (Debian 12's python3-hypercorn). Each fact below
// is shown against the real server by a test in integration/asgi_test.go,
// named in the comment.

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

var hypercorn = Server{
	Name: "hypercorn",
	Kind: Web,
	// hypercorn sends nothing to NOTIFY_SOCKET (TestASGIReadiness).
	NotifySince: "",
	// hypercorn handles INT and TERM only; HUP kills it (TestASGIReload).
	ReloadSignal: "",
	// TERM: hypercorn waits --graceful-timeout (default 3 s) for requests
	// in flight, then cancels them (TestASGIStop).
	GracefulTimeout: hypercornGracefulTimeout,
	// --bind fd://3 serves the socket systemd passes, of any family
	// (TestASGISocketActivation).
	SocketArgs: []string{"--bind", "fd://3"},
	DjangoApp:  "asgi:application",
	// hypercorn has no --version; it needs none, sending no READY=1.
	version: nil,
	args:    hypercornArgs,
}

// hypercornGracefulTimeout is hypercorn.config.Config.graceful_timeout.
const hypercornGracefulTimeout = 3 * time.Second

// hypercornDefaultPort is the port hypercorn binds for an address without
// one; with no --bind it binds 127.0.0.1:8000.
const hypercornDefaultPort = 8000

// hypercornOptions are hypercorn 0.13.2's argparse options (a test
// compares them with its parser's).
var hypercornOptions = [...]pyOpt{
	{"-h --help", "help", false},
	{"--access-log", "access_log", true},
	{"--access-logfile", "access_logfile", true},
	{"--access-logformat", "access_logformat", true},
	{"--backlog", "backlog", true},
	{"-b --bind", "binds", true},
	{"--ca-certs", "ca_certs", true},
	{"--certfile", "certfile", true},
	{"--cert-reqs", "cert_reqs", true},
	{"--ciphers", "ciphers", true},
	{"-c --config", "config", true},
	{"--debug", "debug", false},
	{"--error-log", "error_log", true},
	{"--error-logfile --log-file", "error_logfile", true},
	{"--graceful-timeout", "graceful_timeout", true},
	{"--read-timeout", "read_timeout", true},
	{"-g --group", "group", true},
	{"-k --worker-class", "worker_class", true},
	{"--keep-alive", "keep_alive", true},
	{"--keyfile", "keyfile", true},
	{"--keyfile-password", "keyfile_password", true},
	{"--insecure-bind", "insecure_binds", true},
	{"--log-config", "log_config", true},
	{"--log-level", "log_level", true},
	{"-p --pid", "pid", true},
	{"--quic-bind", "quic_binds", true},
	{"--reload", "reload", false},
	{"--root-path", "root_path", true},
	{"--server-name", "server_names", true},
	{"--statsd-host", "statsd_host", true},
	{"--statsd-prefix", "statsd_prefix", true},
	{"-m --umask", "umask", true},
	{"-u --user", "user", true},
	{"--verify-mode", "verify_mode", true},
	{"--websocket-ping-interval", "websocket_ping_interval", true},
	{"-w --workers", "workers", true},
}

// hypercornArgs reads hypercorn's command line as argparse does. A -c/--config
// file may set more (binds, graceful_timeout, workers); it is not read.
func hypercornArgs(args []string) (Args, error) {
	a := Args{Graceful: hypercornGracefulTimeout}
	p, err := parseArgparse(hypercornOptions[:], 1, args)
	if err != nil {
		return a, fmt.Errorf("hypercorn would refuse its arguments: %v", err)
	}
	if len(p.positional) > 0 {
		a.App = p.positional[0]
	}
	if v, ok := p.last("graceful_timeout"); ok {
		// argparse's type=int: whole seconds.
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return a, fmt.Errorf("hypercorn would refuse its arguments: argument --graceful-timeout: invalid int value: '%s'", v)
		}
		a.Graceful = seconds(max(n, 0))
	}
	for _, setting := range [...]string{"binds", "insecure_binds"} {
		for _, b := range p.settings[setting] {
			a.Binds = append(a.Binds, HypercornBind(b))
		}
	}
	if v, ok := p.last("workers"); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 1 {
			a.Supervisor = "--workers " + v
		}
	}
	if _, ok := p.last("reload"); ok {
		a.Reloader = "--reload"
	}
	return a, nil
}

// HypercornBind reads a hypercorn bind as hypercorn.config.Config does:
// unix:PATH, fd://N, or HOST[:PORT] ([ADDR]:PORT for IPv6), the port 8000
// when the text after the last colon is no number.
func HypercornBind(addr string) Bind {
	b := Bind{Addr: addr}
	switch {
	case strings.HasPrefix(addr, "unix:"):
		b.Unix = addr[len("unix:"):]
		return b
	case strings.HasPrefix(addr, "fd://"):
		return b
	}
	b.TCP = true
	b.Port = hypercornDefaultPort
	plain := strings.NewReplacer("[", "", "]", "").Replace(addr)
	if i := strings.LastIndexByte(plain, ':'); i >= 0 {
		// Python's int() takes surrounding spaces, a sign and underscores;
		// a port from such text is still a number to bind.
		digits := strings.TrimSpace(plain[i+1:])
		if n, err := strconv.Atoi(strings.ReplaceAll(digits, "_", "")); err == nil {
			b.Port = n
		}
	}
	return b
}
