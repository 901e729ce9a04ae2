package server

// Differential tests for the ASGI servers: what this package reads of each
// command line is compared with what the server's own parser (click for
// uvicorn, argparse for hypercorn and daphne) reads, run from Debian's
// packages. What the servers do with it is shown in
// integration/asgi_test.go.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
)

// optionsOf returns each option string of a table with whether it takes a
// value.
func optionsOf(table []pyOpt) map[string]bool {
	m := map[string]bool{}
	for _, o := range table {
		for _, n := range strings.Fields(o.names) {
			m[n] = o.value
		}
	}
	return m
}

func TestUvicornOptionsMatchUvicorn(t *testing.T) {
	var opts map[string]bool
	testenv.PythonJSON(t, &opts, `
import json
from uvicorn.main import main
out = {}
for p in main.params:
    if p.param_type_name != "option":
        continue
    for o in p.opts + p.secondary_opts:
        out[o] = not p.is_flag
out["--help"] = False
print(json.dumps(out))
`)
	ours := optionsOf(uvicornOptions[:])
	delete(ours, "--timeout-graceful-shutdown") // 0.20 and later
	assert.Equal(t, opts, ours)
}

func TestArgparseOptionsMatchServers(t *testing.T) {
	for _, tc := range []struct {
		server string
		parser string // Python that sets p to the server's parser
		table  []pyOpt
	}{
		{"hypercorn", `
import argparse, hypercorn.__main__ as m
class Got(Exception): pass
def grab(self, *a, **k): raise Got(self)
argparse.ArgumentParser.parse_args = grab
try: m.main(["x"])
except Got as e: p = e.args[0]
`, hypercornOptions[:]},
		{"daphne", `
import daphne.cli
p = daphne.cli.CommandLineInterface().parser
`, daphneOptions[:]},
	} {
		t.Run(tc.server, func(t *testing.T) {
			var opts map[string]bool
			testenv.PythonJSON(t, &opts, tc.parser+`
import json
out = {}
for a in p._actions:
    for o in a.option_strings:
        out[o] = a.nargs != 0
print(json.dumps(out))
`)
			assert.Equal(t, opts, optionsOf(tc.table))
		})
	}
}

// bindKey is what the unit needs of a bind, comparable across the servers'
// spellings of an address.
func bindKey(b Bind) string {
	switch {
	case b.Unix != "":
		return "unix " + b.Unix
	case b.TCP:
		return fmt.Sprintf("tcp %d", b.Port)
	}
	return "other"
}

func bindKeys(bs []Bind) []string {
	keys := []string{}
	for _, b := range bs {
		keys = append(keys, bindKey(b))
	}
	slices.Sort(keys)
	return keys
}

// parsed is what a server's parser made of a command line, in the terms
// of Args.
type parsed struct {
	Error      string   `json:"error"`
	App        string   `json:"app"`
	Binds      []Bind   `json:"-"`
	Graceful   *float64 `json:"graceful"` // seconds; nil: unbounded
	Supervisor bool     `json:"supervisor"`
	Reloader   bool     `json:"reloader"`
	// Per server: uvicorn's fd, uds, host, port as it binds them;
	// hypercorn's binds; daphne's endpoints.
	Raw json.RawMessage `json:"raw"`
}

// compare runs the server's parser on each command line (script reads
// them as JSON from argv[1]) and checks ReadArgs against it.
func compare(t *testing.T, s *Server, script string, cmdLines [][]string, binds func(raw json.RawMessage) []Bind) {
	t.Helper()
	data, err := json.Marshal(cmdLines)
	require.NoError(t, err)
	var want []parsed
	testenv.PythonJSON(t, &want, script, string(data))
	require.Len(t, want, len(cmdLines))
	for i, args := range cmdLines {
		w := want[i]
		got, err := s.ReadArgs(args)
		if w.Error != "" {
			assert.Error(t, err, "%q: %s refuses it: %s", args, s.Name, w.Error)
			continue
		}
		if !assert.NoError(t, err, "%q", args) {
			continue
		}
		assert.Equal(t, w.App, got.App, "%q: app", args)
		if w.Graceful == nil {
			assert.True(t, got.GracefulUnbounded, "%q: unbounded", args)
		} else {
			assert.False(t, got.GracefulUnbounded, "%q: unbounded", args)
			assert.Equal(t, time.Duration(*w.Graceful*float64(time.Second)), got.Graceful, "%q: graceful", args)
		}
		assert.Equal(t, w.Supervisor, got.Supervisor != "", "%q: supervisor %q", args, got.Supervisor)
		assert.Equal(t, w.Reloader, got.Reloader != "", "%q: reloader %q", args, got.Reloader)
		wantBinds := binds(w.Raw)
		if got.Binds == nil {
			// Nothing named: the server's default, which only the server
			// (with its environment or configuration file) knows.
			assert.Equal(t, []string{"tcp 8000"}, bindKeys(wantBinds), "%q: default bind", args)
			continue
		}
		assert.Equal(t, bindKeys(wantBinds), bindKeys(got.Binds), "%q: binds", args)
	}
}

func TestUvicornArgsMatchUvicorn(t *testing.T) {
	cmdLines := [][]string{
		{"project.asgi:application"},
		{"--host", "0.0.0.0", "--port", "80", "project.asgi:application"},
		{"--port=443", "m:app"},
		{"m:app", "--host", "::", "--port", "8080"},
		{"--host", "127.0.0.1", "m:app"},
		{"--uds", "/run/app/web.sock", "--port", "80", "m:app"},
		{"--fd", "3", "--uds", "/run/x.sock", "m:app"},
		{"--fd=3", "m:app"},
		{"--workers", "4", "m:app"},
		{"--workers", "1", "m:app"},
		{"--reload", "m:app"},
		{"--reload", "--workers", "3", "m:app"},
		{"--no-access-log", "--proxy-headers", "--forwarded-allow-ips", "*", "m:app"},
		{"--root-path", "-x", "m:app"}, // click takes any next word as the value
		{"--", "-weird:app"},
		{"--header", "a:b", "--header", "c:d", "--port", "1", "m:app"},
		{"--ws-per-message-deflate", "false", "m:app"},
		{"--reloa", "m:app"},                          // click has no abbreviations
		{"--reload=yes", "m:app"},                     // flags take no value
		{"-p", "80", "m:app"},                         // no short options
		{"m:app", "extra"},                            // one application only
		{"--port"},                                    // a value needed
		{"--timeout-graceful-shutdown", "5", "m:app"}, // 0.20 and later
	}
	script := `
import json, sys, click
from uvicorn.main import main
out = []
for args in json.loads(sys.argv[1]):
    try:
        ctx = main.make_context("uvicorn", list(args))
    except click.exceptions.ClickException as e:
        out.append({"error": e.format_message()})
        continue
    p = ctx.params
    if p["fd"] is not None: bind = ["fd", p["fd"]]
    elif p["uds"] is not None: bind = ["unix", p["uds"]]
    else: bind = ["tcp", p["port"]]
    out.append({"app": p["app"], "graceful": None,
                "supervisor": p["reload"] or (p["workers"] or 1) > 1,
                "reloader": p["reload"], "raw": bind})
print(json.dumps(out))
`
	for _, args := range cmdLines {
		if slices.Contains(args, "--timeout-graceful-shutdown") {
			// uvicorn 0.17 refuses it; a later one bounds its stop.
			a, err := uvicorn.ReadArgs(args)
			require.NoError(t, err)
			assert.Equal(t, 5*time.Second, a.Graceful)
			assert.False(t, a.GracefulUnbounded)
		}
	}
	var lines [][]string
	for _, args := range cmdLines {
		if !slices.Contains(args, "--timeout-graceful-shutdown") {
			lines = append(lines, args)
		}
	}
	compare(t, &uvicorn, script, lines, func(raw json.RawMessage) []Bind {
		var b []any
		require.NoError(t, json.Unmarshal(raw, &b))
		switch b[0] {
		case "fd":
			return []Bind{{Addr: "fd"}}
		case "unix":
			return []Bind{{Unix: b[1].(string)}}
		}
		return []Bind{{TCP: true, Port: int(b[1].(float64))}}
	})
}

func TestHypercornArgsMatchHypercorn(t *testing.T) {
	cmdLines := [][]string{
		{"project.asgi:application"},
		{"--bind", "0.0.0.0:80", "m:app"},
		{"-b", "[::]:443", "-b", "unix:/run/app/web.sock", "m:app"},
		{"-b127.0.0.1:8001", "m:app"},
		{"-b=127.0.0.1:8002", "m:app"},
		{"--bind=localhost", "m:app"}, // no port: 8000
		{"--bind", "fd://3", "m:app"},
		{"--insecure-bind", "0.0.0.0:81", "-b", ":8443", "m:app"},
		{"--graceful-timeout", "10", "m:app"},
		{"--graceful-timeout", "0.5", "m:app"}, // type=int
		{"--grace", "7", "m:app"},              // argparse takes a unique prefix
		{"--bin", "0.0.0.0:82", "m:app"},
		{"-w", "2", "m:app"},
		{"-w2", "m:app"},
		{"--workers", "1", "m:app"},
		{"--reload", "m:app"},
		{"--debug", "--reload", "-k", "uvloop", "m:app"},
		{"--re", "m:app"},         // ambiguous: --read-timeout, --reload
		{"--bind", "-x", "m:app"}, // a value that looks like an option
		{"--nope", "m:app"},       // unknown
		{"m:app", "extra"},        // one application only
		{"--log-level", "DEBUG", "--", "-weird:app"},
		{"--reload=1", "m:app"},
	}
	script := `
import argparse, json, sys
import hypercorn.__main__ as m
class Refused(Exception): pass
class Ran(Exception): pass
def error(self, message): raise Refused(message)
argparse.ArgumentParser.error = error
got = {}
def run(config):
    got["config"] = config
    raise Ran()
m.run = run
out = []
for args in json.loads(sys.argv[1]):
    try:
        m.main(list(args))
    except Refused as e:
        out.append({"error": str(e)})
        continue
    except Ran:
        pass
    c = got["config"]
    out.append({"app": c.application_path, "graceful": c.graceful_timeout,
                "supervisor": c.workers > 1, "reloader": c.use_reloader,
                "raw": list(c.bind) + list(c.insecure_bind)})
print(json.dumps(out))
`
	compare(t, &hypercorn, script, cmdLines, func(raw json.RawMessage) []Bind {
		var addrs []string
		require.NoError(t, json.Unmarshal(raw, &addrs))
		var bs []Bind
		for _, a := range addrs {
			bs = append(bs, HypercornBind(a))
		}
		return bs
	})
}

func TestDaphneArgsMatchDaphne(t *testing.T) {
	cmdLines := [][]string{
		{"project.asgi:application"},
		{"-b", "0.0.0.0", "-p", "80", "m:app"},
		{"-b", "0.0.0.0", "m:app"}, // port 8000
		{"-p", "8443", "m:app"},    // host 127.0.0.1
		{"-p8001", "m:app"},
		{"-u", "/run/app/web.sock", "m:app"},
		{"--fd", "3", "m:app"},
		{"-e", "systemd:domain=INET:index=0", "m:app"},
		{"-e", "tcp:443:interface=\\:\\:", "-e", "unix:/run/a.sock", "m:app"},
		{"-e", "ssl:port=443:privateKey=k.pem", "-b", "::1", "-p", "80", "m:app"},
		{"--unix", "/run/b.sock", "m:app"}, // a unique prefix of --unix-socket
		{"--proxy-headers", "-v", "2", "m:app"},
		{"--proxy", "m:app"},  // ambiguous
		{"-b", "-p", "m:app"}, // a value that looks like an option
		{"m:app", "extra"},    // one application only
	}
	script := `
import argparse, json, sys
import daphne.cli as cli
class Refused(Exception): pass
def error(self, message): raise Refused(message)
argparse.ArgumentParser.error = error
got = {}
class Server:
    def __init__(self, application, endpoints, **kw):
        got["endpoints"] = endpoints
    def run(self): pass
cli.logging.basicConfig = lambda **kw: None
cli.import_by_path = lambda path: path
cli.guarantee_single_callable = lambda app: app
out = []
for args in json.loads(sys.argv[1]):
    c = cli.CommandLineInterface()
    c.server_class = Server
    try:
        c.run(list(args))
    except Refused as e:
        out.append({"error": str(e)})
        continue
    a = c.parser.parse_args(list(args))
    out.append({"app": a.application, "graceful": 0, "supervisor": False,
                "reloader": False, "raw": got["endpoints"]})
print(json.dumps(out))
`
	compare(t, &daphne, script, cmdLines, func(raw json.RawMessage) []Bind {
		var endpoints []string
		require.NoError(t, json.Unmarshal(raw, &endpoints))
		var bs []Bind
		for _, e := range endpoints {
			bs = append(bs, TwistedEndpoint(e))
		}
		return bs
	})
}

func TestASGITable(t *testing.T) {
	for _, name := range []string{"uvicorn", "hypercorn", "daphne", "/srv/app/.venv/bin/uvicorn"} {
		s := Lookup(name)
		require.NotNil(t, s, name)
		assert.Empty(t, s.NotifySince, "%s sends no READY=1: Type=exec", name)
		assert.Empty(t, s.ReloadSignal, "HUP kills %s", name)
		assert.Equal(t, "asgi:application", s.DjangoApp)
		assert.NotEmpty(t, s.SocketArgsFor(false, false))
	}
	assert.True(t, uvicorn.GracefulUnbounded)
	assert.Equal(t, 3*time.Second, hypercorn.GracefulTimeout)
	assert.Equal(t, time.Duration(0), daphne.GracefulTimeout)
	assert.Equal(t, []string{"--fd", "3"}, uvicorn.SocketArgsFor(true, false))
	assert.Equal(t, []string{"--bind", "fd://3"}, hypercorn.SocketArgsFor(false, true))
	assert.Equal(t, []string{"-e", "systemd:domain=UNIX:index=0"}, daphne.SocketArgsFor(true, false))
	assert.Equal(t, []string{"-e", "systemd:domain=INET6:index=0"}, daphne.SocketArgsFor(false, true))
	assert.Equal(t, []string{"-e", "systemd:domain=INET:index=0"}, daphne.SocketArgsFor(false, false))
	assert.Equal(t, "0.17.6", uvicornVersion([]byte("Running uvicorn 0.17.6 with CPython 3.11.2 on Linux\n")))
	assert.Equal(t, "", uvicornVersion([]byte("uvicorn, version x\n")))
	v, err := hypercorn.Version(Probe{Program: "/bin/false"})
	require.NoError(t, err, "hypercorn is not run: it has no --version")
	notify, err := hypercorn.Notifies(v)
	require.NoError(t, err)
	assert.False(t, notify)
}
