package server

// gunicorn, as of 20.1 (Debian 12's), with what later versions added.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/runapp/runapp/internal/pyconf"
)

// Every fact below holds for each worker class, since the master alone
// talks to systemd: with uvicorn's (-k uvicorn.workers.UvicornWorker, an
// ASGI app) as with the default sync worker. integration/asgi_test.go shows
// it for the uvicorn worker, in the test named.
var gunicorn = Server{
	Name: "gunicorn",
	Kind: Web,
	// gunicorn's master sends READY=1 once it listens, since 20.0
	// (gunicorn/systemd.py, sd_notify; TestASGIReadiness).
	NotifySince: "20.0",
	// HUP: new workers with the new code and configuration, then the old
	// ones stop gracefully; the master stays (TestASGIReload).
	ReloadSignal:    "HUP",
	GracefulTimeout: gunicornGracefulTimeout,
	// gunicorn binds the sockets of LISTEN_FDS itself when LISTEN_PID is
	// its own: no argument needed (TestASGISocketActivation).
	SocketArgs: nil,
	DjangoApp:  "wsgi",
	ConfFile:   "gunicorn.conf.py",
	version:    gunicornVersion,
	args:       gunicornArgs,
}

// gunicornGracefulTimeout is graceful_timeout's default: the master waits
// that long for its workers after TERM, then kills them (TestASGIStop).
const gunicornGracefulTimeout = 30 * time.Second

// GunicornASGIWorker says whether gunicorn's worker class serves an ASGI
// application: uvicorn's workers (uvicorn.workers, or the uvicorn-worker
// package's uvicorn_worker). Every other class, the default sync first,
// calls the application as WSGI, app(environ, start_response), which an
// ASGI application cannot answer.
func GunicornASGIWorker(class string) bool {
	for _, module := range [...]string{"uvicorn.workers.", "uvicorn_worker."} {
		if strings.HasPrefix(class, module) {
			return true
		}
	}
	return false
}

// gunicornDefaultPort is the port gunicorn binds for a TCP address that
// names none.
const gunicornDefaultPort = 8000

// option is a command-line option and the setting it sets.
type option struct{ opt, setting string }

// gunicornValued lists each gunicorn option that takes a value with its
// setting, as gunicorn 20.1 defines them (gunicorn.config.KNOWN_SETTINGS;
// a test compares them) plus those of later versions. Every other option is
// a flag: this is what tells the application argument from an option's
// value.
//
// The tables are arrays, not maps: this package is linked into a binary
// whose every launch would build a package-level map (or the
// sync.OnceValue wrapping it) at start, and an array of constants costs
// nothing until it is read.
var gunicornValued = [...]option{
	{"-c", "config"},
	{"--config", "config"},
	{"-b", "bind"},
	{"--bind", "bind"},
	{"--backlog", "backlog"},
	{"-w", "workers"},
	{"--workers", "workers"},
	{"-k", "worker_class"},
	{"--worker-class", "worker_class"},
	{"--threads", "threads"},
	{"--worker-connections", "worker_connections"},
	{"--max-requests", "max_requests"},
	{"--max-requests-jitter", "max_requests_jitter"},
	{"-t", "timeout"},
	{"--timeout", "timeout"},
	{"--graceful-timeout", "graceful_timeout"},
	{"--keep-alive", "keepalive"},
	{"--limit-request-line", "limit_request_line"},
	{"--limit-request-fields", "limit_request_fields"},
	{"--limit-request-field_size", "limit_request_field_size"},
	{"--reload-engine", "reload_engine"},
	{"--reload-extra-file", "reload_extra_files"},
	{"--chdir", "chdir"},
	{"-e", "raw_env"},
	{"--env", "raw_env"},
	{"-p", "pidfile"},
	{"--pid", "pidfile"},
	{"--worker-tmp-dir", "worker_tmp_dir"},
	{"-u", "user"},
	{"--user", "user"},
	{"-g", "group"},
	{"--group", "group"},
	{"-m", "umask"},
	{"--umask", "umask"},
	{"--forwarded-allow-ips", "forwarded_allow_ips"},
	{"--access-logfile", "accesslog"},
	{"--access-logformat", "access_log_format"},
	{"--error-logfile", "errorlog"},
	{"--log-file", "errorlog"},
	{"--log-level", "loglevel"},
	{"--logger-class", "logger_class"},
	{"--log-config", "logconfig"},
	{"--log-config-json", "logconfig_json"},
	{"--log-syslog-to", "syslog_addr"},
	{"--log-syslog-prefix", "syslog_prefix"},
	{"--log-syslog-facility", "syslog_facility"},
	{"--statsd-host", "statsd_host"},
	{"--dogstatsd-tags", "dogstatsd_tags"},
	{"--statsd-prefix", "statsd_prefix"},
	{"-n", "proc_name"},
	{"--name", "proc_name"},
	{"--pythonpath", "pythonpath"},
	{"--paste", "paste"},
	{"--paster", "paste"},
	{"--proxy-allow-from", "proxy_allow_ips"},
	{"--keyfile", "keyfile"},
	{"--certfile", "certfile"},
	{"--ssl-version", "ssl_version"},
	{"--cert-reqs", "cert_reqs"},
	{"--ca-certs", "ca_certs"},
	{"--ciphers", "ciphers"},
	{"--paste-global", "raw_paste_global_conf"},
	{"--forwarder-headers", "forwarder_headers"},
	{"--header-map", "header_map"},
}

// gunicornFlags are the flags whose setting runapp reads.
var gunicornFlags = [...]option{{"-D", "daemon"}, {"--daemon", "daemon"}, {"--preload", "preload_app"}}

// lookupOpt returns the setting of opt in table.
func lookupOpt(table []option, opt string) (string, bool) {
	for _, o := range table {
		if o.opt == opt {
			return o.setting, true
		}
	}
	return "", false
}

// ParseGunicornArgs reads gunicorn's command line the way its argparse
// parser does (except abbreviated long options): settings maps a setting's name
// ("bind", "graceful_timeout") to its values in order, several for a
// repeated option, and "True" for a flag; positional are the other
// arguments, the application first. Options that take a value but are
// given none are an error.
func ParseGunicornArgs(args []string) (map[string][]string, []string, error) {
	settings := map[string][]string{}
	var positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return settings, append(positional, args[i+1:]...), nil
		case a == "-" || !strings.HasPrefix(a, "-"):
			positional = append(positional, a)
		case strings.HasPrefix(a, "--"):
			opt, value, hasValue := strings.Cut(a, "=")
			if name, ok := lookupOpt(gunicornValued[:], opt); ok {
				if !hasValue {
					if i+1 == len(args) {
						return nil, nil, fmt.Errorf("gunicorn option %s needs a value", opt)
					}
					i++
					value = args[i]
				}
				settings[name] = append(settings[name], value)
			} else if name, ok := lookupOpt(gunicornFlags[:], opt); ok {
				settings[name] = []string{"True"}
			}
		default:
			// Short options, possibly bundled: -D, -Db :80, -b:80, -Dw4.
			for j := 1; j < len(a); j++ {
				opt := "-" + a[j:j+1]
				if name, ok := lookupOpt(gunicornValued[:], opt); ok {
					value := a[j+1:]
					if value == "" {
						if i+1 == len(args) {
							return nil, nil, fmt.Errorf("gunicorn option %s needs a value", opt)
						}
						i++
						value = args[i]
					}
					settings[name] = append(settings[name], value)
					break
				}
				if name, ok := lookupOpt(gunicornFlags[:], opt); ok {
					settings[name] = []string{"True"}
				}
			}
		}
	}
	return settings, positional, nil
}

// GunicornBind reads a gunicorn bind address as gunicorn 20.1's
// util.parse_address does: unix:PATH, unix://PATH, fd://N, or a TCP
// [tcp://]HOST[:PORT] ([ADDR]:PORT for IPv6).
func GunicornBind(addr string) Bind {
	b := Bind{Addr: addr}
	for _, prefix := range [...]string{"unix://", "unix:"} {
		if strings.HasPrefix(addr, prefix) {
			b.Unix = strings.TrimPrefix(addr, prefix)
			return b
		}
	}
	if strings.HasPrefix(addr, "fd://") {
		return b
	}
	b.TCP = true
	rest := strings.TrimPrefix(addr, "tcp://")
	var port string
	if strings.Contains(rest, "[") && strings.Contains(rest, "]") {
		_, port, _ = strings.Cut(rest, "]:")
	} else {
		// gunicorn takes the field after the first colon.
		_, rest, _ = strings.Cut(rest, ":")
		port, _, _ = strings.Cut(rest, ":")
	}
	if port == "" {
		b.Port = gunicornDefaultPort
	} else if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 65536 {
		b.Port = n
	}
	return b
}

// gunicornArgs reads what the unit depends on: the application, the
// graceful timeout and the binds. It refuses -D/--daemon, which makes
// gunicorn fork into the background: the process systemd started exits and
// systemd loses the server.
func gunicornArgs(args []string) (Args, error) {
	a := Args{Graceful: gunicornGracefulTimeout}
	settings, positional, err := ParseGunicornArgs(args)
	if err != nil {
		return a, err
	}
	if len(positional) > 0 {
		a.App = positional[0]
	}
	if values := settings["graceful_timeout"]; values != nil {
		// gunicorn reads it as a whole number of seconds.
		value := values[len(values)-1]
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			return a, fmt.Errorf("--graceful-timeout %q is not a number of seconds", value)
		}
		a.Graceful = time.Duration(n) * time.Second
	}
	if settings["daemon"] != nil {
		return a, errors.New("-D/--daemon makes gunicorn leave the process systemd watches; remove it, under systemd gunicorn runs in the foreground")
	}
	for _, b := range settings["bind"] {
		a.Binds = append(a.Binds, GunicornBind(b))
	}
	// The configuration file may set wsgi_app; a paste deployment names
	// the application in its .ini. (GUNICORN_CMD_ARGS names no
	// application: gunicorn skips its positional arguments.)
	for _, opt := range [...]struct{ setting, name string }{{"config", "--config"}, {"paste", "--paste"}} {
		if values := settings[opt.setting]; values != nil {
			a.AppFrom = opt.name + " " + values[len(values)-1]
		}
	}
	if values := settings["worker_class"]; values != nil {
		a.Worker = values[len(values)-1]
	}
	return a, nil
}

// gunicornVersion returns VERSION from the "PROG (version VERSION)" line
// that gunicorn --version prints in out, or "". PROG is the program's base
// name: "gunicorn3 (version 20.1.0)" when it is called gunicorn3.
// Hand-written, not a regexp: the regexp package's initialisation is a
// measurable part of every launch.
func gunicornVersion(out []byte) string {
	var rest string
	for line := range strings.Lines(string(out)) {
		prog, v, ok := strings.Cut(line, " (version ")
		if ok && prog != "" && !strings.ContainsAny(prog, " \t") {
			rest = v
			break
		}
	}
	if rest == "" {
		return ""
	}
	v, _, ok := strings.Cut(rest, ")")
	if !ok || v == "" || v[0] < '0' || v[0] > '9' || strings.Trim(v, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.") != "" {
		return ""
	}
	return v
}

// SplitGunicornCmdArgs splits the value of GUNICORN_CMD_ARGS, gunicorn's
// further command line, as gunicorn does with Python's shlex.split.
func SplitGunicornCmdArgs(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("no closing quotation")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i == len(s) {
				return nil, errors.New("no closing quotation")
			}
			inWord = true
		case ch == '\\':
			if i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			}
			inWord = true
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// ConfSetting is one setting of a gunicorn configuration file.
type ConfSetting struct {
	Values []string // a list's items, or the one value of a scalar
	Line   int
	// Known is false for a value that is not a plain literal (a
	// computed one): its Values are not to be trusted.
	Known bool
}

// GunicornConf reads the settings of a gunicorn configuration file
// (gunicorn.conf.py) without running it: its top-level assignments of
// literals, under gunicorn's setting names, the names ParseGunicornArgs
// gives.
func GunicornConf(data []byte) map[string]ConfSetting {
	settings := map[string]ConfSetting{}
	for name, v := range pyconf.Parse(data) {
		s := ConfSetting{Line: v.Line, Known: v.Known}
		if v.IsSeq {
			s.Values = v.List
		} else {
			s.Values = []string{v.Str}
		}
		settings[name] = s
	}
	return settings
}

// GunicornTrue says whether gunicorn takes a boolean setting's value, as
// ParseGunicornArgs ("True" for a flag) or GunicornConf gives it, as true.
func GunicornTrue(value string) bool {
	return pyconf.Value{Str: value}.Truthy()
}
