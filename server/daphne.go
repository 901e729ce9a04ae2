package server

// daphne, as of 4.0.0 (Debian 12's). Each fact below is shown against the
// real server by a test in integration/asgi_test.go, named in the comment.

import (
	"fmt"
	"strconv"
	"strings"
)

var daphne = Server{
	Name: "daphne",
	Kind: Web,
	// daphne sends nothing to NOTIFY_SOCKET (TestASGIReadiness).
	NotifySince: "",
	// Twisted's reactor handles INT and TERM; HUP kills daphne
	// (TestASGIReload).
	ReloadSignal: "",
	// TERM stops the reactor at once: a request in flight is cut
	// (TestASGIStop). No option bounds or extends it.
	GracefulTimeout: 0,
	// Twisted's systemd endpoint adopts fd 3 for its family; daphne's own
	// --fd 3 (Twisted's fd endpoint, domain INET) serves nothing on a
	// unix socket (TestASGISocketActivation). See daphneSocketArgs.
	SocketArgs: []string{"-e", "systemd:domain=INET:index=0"},
	socketArgs: daphneSocketArgs,
	DjangoApp:  "asgi:application",
	// daphne has no --version; it needs none, sending no READY=1.
	version: nil,
	args:    daphneArgs,
}

// daphneSocketArgs names the socket's family to Twisted's systemd endpoint,
// which needs it (and checks LISTEN_PID, which runapp's exec keeps).
func daphneSocketArgs(unixSocket, ipv6 bool) []string {
	domain := "INET"
	switch {
	case unixSocket:
		domain = "UNIX"
	case ipv6:
		domain = "INET6"
	}
	return []string{"-e", "systemd:domain=" + domain + ":index=0"}
}

// daphneDefaultPort is the port daphne binds with no binding option, or
// with -b and no -p; the host is 127.0.0.1.
const daphneDefaultPort = 8000

// daphneOptions are daphne 4.0's argparse options (a test compares them
// with its parser's).
var daphneOptions = [...]pyOpt{
	{"-h --help", "help", false},
	{"-p --port", "port", true},
	{"-b --bind", "host", true},
	{"--websocket_timeout", "websocket_timeout", true},
	{"--websocket_connect_timeout", "websocket_connect_timeout", true},
	{"-u --unix-socket", "unix_socket", true},
	{"--fd", "file_descriptor", true},
	{"-e --endpoint", "socket_strings", true},
	{"-v --verbosity", "verbosity", true},
	{"-t --http-timeout", "http_timeout", true},
	{"--access-log", "access_log", true},
	{"--log-fmt", "log_fmt", true},
	{"--ping-interval", "ping_interval", true},
	{"--ping-timeout", "ping_timeout", true},
	{"--application-close-timeout", "application_close_timeout", true},
	{"--root-path", "root_path", true},
	{"--proxy-headers", "proxy_headers", false},
	{"--proxy-headers-host", "proxy_headers_host", true},
	{"--proxy-headers-port", "proxy_headers_port", true},
	{"-s --server-name", "server_name", true},
	{"--no-server-name", "no_server_name", false},
}

// daphneArgs reads daphne's command line as argparse does, and its binds as
// daphne.cli builds its endpoints.
func daphneArgs(args []string) (Args, error) {
	a := Args{}
	p, err := parseArgparse(daphneOptions[:], 1, args)
	if err != nil {
		return a, fmt.Errorf("daphne would refuse its arguments: %v", err)
	}
	if len(p.positional) > 0 {
		a.App = p.positional[0]
	}
	host, hasHost := p.last("host")
	port, hasPort := p.last("port")
	unixSocket, hasUnix := p.last("unix_socket")
	fd, hasFD := p.last("file_descriptor")
	endpoints := p.settings["socket_strings"]
	hasHost = hasHost && host != ""
	if hasHost || hasPort {
		if !hasHost {
			host = "127.0.0.1"
		}
		b := Bind{Addr: joinHostPort(host, port), TCP: true, Port: daphneDefaultPort}
		if hasPort {
			b.Port = 0
			if n, err := strconv.Atoi(port); err == nil && n >= 0 && n < 65536 {
				b.Port = n
			}
		}
		a.Binds = append(a.Binds, b)
	}
	if hasUnix && unixSocket != "" {
		a.Binds = append(a.Binds, Bind{Addr: "unix:" + unixSocket, Unix: unixSocket})
	}
	if hasFD {
		a.Binds = append(a.Binds, Bind{Addr: "fd:fileno=" + fd})
	}
	for _, e := range endpoints {
		a.Binds = append(a.Binds, TwistedEndpoint(e))
	}
	return a, nil
}

// TwistedEndpoint reads a Twisted server endpoint string as daphne -e takes
// it: tcp: and ssl: bind a port (port=N or the first positional field),
// unix: a path (address=PATH or the first field); others (systemd:, fd:)
// bind nothing themselves.
func TwistedEndpoint(e string) Bind {
	b := Bind{Addr: e}
	kind, rest, _ := strings.Cut(e, ":")
	var first, port, address string
	for i, field := range splitEndpoint(rest) {
		k, v, kv := strings.Cut(field, "=")
		switch {
		case kv && k == "port":
			port = v
		case kv && k == "address":
			address = v
		case !kv && i == 0:
			first = field
		}
	}
	switch kind {
	case "tcp", "ssl", "tcp6":
		b.TCP = true
		if port == "" {
			port = first
		}
		if n, err := strconv.Atoi(port); err == nil && n >= 0 && n < 65536 {
			b.Port = n
		}
	case "unix":
		if address == "" {
			address = first
		}
		b.Unix = address
	}
	return b
}

// splitEndpoint splits a Twisted endpoint description at colons not
// escaped with a backslash, unescaping them.
func splitEndpoint(s string) []string {
	var fields []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case s[i] == ':':
			fields = append(fields, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(fields, cur.String())
}
