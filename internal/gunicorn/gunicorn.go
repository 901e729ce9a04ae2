// Package gunicorn reads gunicorn's command-line options the way gunicorn
// 20.1 parses them.
package gunicorn

import (
	"fmt"
	"strings"
	"time"
)

// GracefulTimeout is gunicorn's graceful_timeout default.
const GracefulTimeout = 30 * time.Second

// DefaultPort is the port gunicorn binds for a TCP address that names none.
const DefaultPort = 8000

// option is a gunicorn command-line option and the setting it sets.
type option struct{ opt, setting string }

// valued lists each gunicorn option that takes a value with its
// setting, as gunicorn 20.1 defines them (gunicorn.config.KNOWN_SETTINGS;
// a test compares them) plus those of later versions. Every other option is
// a flag: this is what tells the application argument from an option's
// value.
//
// The tables are arrays, not maps: this package is linked into a binary
// whose every launch would build a package-level map (or the
// sync.OnceValue wrapping it) at start, and an array of constants costs
// nothing until it is read.
var valued = [...]option{
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

// flags are the flags whose setting runapp reads.
var flags = [...]option{{"-D", "daemon"}, {"--daemon", "daemon"}}

// lookupOpt returns the setting of opt in table.
func lookupOpt(table []option, opt string) (string, bool) {
	for _, o := range table {
		if o.opt == opt {
			return o.setting, true
		}
	}
	return "", false
}

// ParseArgs reads gunicorn's command line the way its argparse parser does
// (except abbreviated long options): settings maps a setting's name
// ("bind", "graceful_timeout") to its values in order, several for a
// repeated option, and "True" for a flag; positional are the other
// arguments, the application first. Options that take a value but are
// given none are an error.
func ParseArgs(args []string) (map[string][]string, []string, error) {
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
			if name, ok := lookupOpt(valued[:], opt); ok {
				if !hasValue {
					if i+1 == len(args) {
						return nil, nil, fmt.Errorf("gunicorn option %s needs a value", opt)
					}
					i++
					value = args[i]
				}
				settings[name] = append(settings[name], value)
			} else if name, ok := lookupOpt(flags[:], opt); ok {
				settings[name] = []string{"True"}
			}
		default:
			// Short options, possibly bundled: -D, -Db :80, -b:80, -Dw4.
			for j := 1; j < len(a); j++ {
				opt := "-" + a[j:j+1]
				if name, ok := lookupOpt(valued[:], opt); ok {
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
				if name, ok := lookupOpt(flags[:], opt); ok {
					settings[name] = []string{"True"}
				}
			}
		}
	}
	return settings, positional, nil
}

// Port returns the port of the TCP bind address bind as written, split off
// the way gunicorn 20.1's util.parse_address does, or "" when the address
// names none (gunicorn then binds DefaultPort); tcp is false for unix: and
// fd:// addresses.
func Port(bind string) (port string, tcp bool) {
	if UnixPath(bind) != "" || strings.HasPrefix(bind, "fd://") {
		return "", false
	}
	bind = strings.TrimPrefix(bind, "tcp://")
	if strings.Contains(bind, "[") && strings.Contains(bind, "]") {
		_, port, _ = strings.Cut(bind, "]:")
		return port, true
	}
	// gunicorn takes the field after the first colon.
	_, rest, _ := strings.Cut(bind, ":")
	port, _, _ = strings.Cut(rest, ":")
	return port, true
}

// UnixPath returns the socket path of a unix: bind address, or "".
func UnixPath(bind string) string {
	for _, prefix := range []string{"unix://", "unix:"} {
		if strings.HasPrefix(bind, prefix) {
			return strings.TrimPrefix(bind, prefix)
		}
	}
	return ""
}
