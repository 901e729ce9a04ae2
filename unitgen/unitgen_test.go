package unitgen

import (
	"bytes"
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/unit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
	"github.com/runapp/runapp/launcher"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// renderOpts returns o's units: file name to text.
func renderOpts(t *testing.T, o Options) map[string]string {
	t.Helper()
	files := map[string]string{}
	service, err := Service(o)
	require.NoError(t, err)
	files[strings.TrimSuffix(o.Name, ".service")+".service"] = service
	socket, err := Socket(o)
	require.NoError(t, err)
	if socket != "" {
		files[o.Name+".socket"] = socket
	}
	return files
}

func TestGolden(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for file, text := range renderCase(t, c, "") {
				golden := filepath.Join("testdata", c.name+filepath.Ext(file))
				if *update {
					require.NoError(t, os.WriteFile(golden, []byte(text), 0o644))
				}
				want, err := os.ReadFile(golden)
				require.NoError(t, err, "run go test ./unitgen -update")
				assert.Equal(t, string(want), text, "%s differs; review and run go test ./unitgen -update", golden)
			}
		})
	}
}

func renderCase(t *testing.T, c testCase, root string) map[string]string {
	t.Helper()
	return renderOpts(t, c.opts(root))
}

// Rendering twice gives the same bytes: golden files and diff work.
func TestDeterministic(t *testing.T) {
	for _, c := range cases {
		assert.Equal(t, renderCase(t, c, ""), renderCase(t, c, ""), c.name)
	}
}

// TestRoundTrip reads every unit back with go-systemd's parser: the options
// are the ones written, in order, so no value was cut, continued or joined.
func TestRoundTrip(t *testing.T) {
	for _, c := range cases {
		o := c.opts("")
		u, err := newUnits(o)
		require.NoError(t, err)
		want := map[string][]*unit.UnitOption{o.Name + ".service": u.service()}
		if o.Listen != "" {
			want[o.Name+".socket"] = u.socket()
		}
		for file, text := range renderCase(t, c, "") {
			got, err := unit.DeserializeOptions(strings.NewReader(text))
			require.NoError(t, err, "%s: %s", c.name, file)
			assert.True(t, unit.AllMatch(want[file], got), "%s: %s reads back as\n%v", c.name, file, got)
		}
	}
}

// writeCase renders c with its paths under a new directory that other users
// can read (systemd --test refuses to run as root), creates runapp's binary
// there, and writes the units. It returns the directory.
func writeCase(t *testing.T, c testCase) (string, Options) {
	t.Helper()
	root, err := os.MkdirTemp("", "unitgen-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(root) })
	require.NoError(t, os.Chmod(root, 0o755))
	o := c.opts(root)
	require.NoError(t, os.MkdirAll(filepath.Dir(o.Runapp), 0o755))
	require.NoError(t, os.WriteFile(o.Runapp, []byte("#!/bin/sh\n"), 0o755))
	for file, text := range renderOpts(t, o) {
		require.NoError(t, os.WriteFile(filepath.Join(root, file), []byte(text), 0o644))
	}
	return root, o
}

// TestVerify: systemd-analyze verify accepts every unit without a word.
func TestVerify(t *testing.T) {
	analyze := testenv.LookPath(t, "systemd-analyze")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, o := writeCase(t, c)
			args := []string{"verify", "--man=no", "--generators=no", filepath.Join(root, o.Name+".service")}
			if o.Listen != "" {
				args = append(args, filepath.Join(root, o.Name+".socket"))
			}
			out, err := exec.Command(analyze, args...).CombinedOutput()
			assert.NoError(t, err)
			assert.Empty(t, string(out))
		})
	}
}

// TestSystemdParses loads each service into systemd's own manager in test
// mode (systemd --test, which parses units and dumps them without running
// anything) and checks what it made of ExecStart=, WorkingDirectory= and
// ReadWritePaths=.
func TestSystemdParses(t *testing.T) {
	systemd := "/lib/systemd/systemd"
	if _, err := os.Stat(systemd); err != nil {
		testenv.Skip(t, "systemd is not installed: "+err.Error())
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, o := writeCase(t, c)
			dump := systemdDump(t, systemd, root, o.Name+".service")

			cmdline := field(t, dump, "-> ExecStart:\n\t\t\tCommand Line: ")
			argv, err := splitCommandLine(cmdline)
			require.NoError(t, err, cmdline)
			// systemd keeps "$$" in the argv it holds and turns it into "$"
			// when it execs (systemd.service(5), "Command lines").
			want := c.argv(root)
			for i := range want {
				want[i] = strings.ReplaceAll(want[i], "$", "$$")
			}
			assert.Equal(t, want, argv)
			meant, err := ExecArgv(o)
			require.NoError(t, err)
			for i := range meant {
				meant[i] = strings.ReplaceAll(meant[i], "$", "$$")
			}
			assert.Equal(t, meant, argv)

			assert.Equal(t, o.Config.AppDir, field(t, dump, "\t\tWorkingDirectory: "))
			if c.writable != nil {
				// The dump joins the paths with spaces, unquoted.
				assert.Equal(t, strings.Join(c.writable(root), " "), field(t, dump, "\t\tReadWritePaths: "))
			} else {
				assert.NotContains(t, dump, "ReadWritePaths:")
			}
		})
	}
}

// systemdDump returns systemd --test's dump of the unit name loaded from dir.
func systemdDump(t *testing.T, systemd, dir, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{systemd, "--test", "--system", "--unit=" + name}
	if os.Geteuid() == 0 {
		// "Don't run test mode as root."
		setpriv := testenv.LookPath(t, "setpriv")
		args = append([]string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = "/"
	cmd.Env = []string{"SYSTEMD_UNIT_PATH=" + dir + ":", "SYSTEMD_LOG_TARGET=console", "PATH=/usr/bin:/bin"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	out := stdout.String() + stderr.String()
	_, block, ok := strings.Cut(out, "\t-> Unit "+name+":\n")
	require.True(t, ok, "no dump of %s in:\n%s", name, out)
	if i := strings.Index(block, "\n\t-> Unit "); i >= 0 {
		block = block[:i]
	}
	// A unit with an error is still dumped; systemd says so on stderr.
	assert.NotContains(t, out, name+": Unit configuration has fatal error")
	assert.NotRegexp(t, regexp.MustCompile(regexp.QuoteMeta(dir)+`/[^:]*:\d+:`), out, "systemd complained about a line")
	return block
}

// field returns the rest of the line after prefix in dump.
func field(t *testing.T, dump, prefix string) string {
	t.Helper()
	_, rest, ok := strings.Cut(dump, prefix)
	require.True(t, ok, "no %q in dump:\n%s", prefix, dump)
	line, _, _ := strings.Cut(rest, "\n")
	return line
}

// splitCommandLine undoes systemd's quote_command_line: words separated by
// spaces, each plain or in double quotes with \ before any of "\`$.
func splitCommandLine(s string) ([]string, error) {
	var argv []string
	for len(s) > 0 {
		if s[0] != '"' {
			word, rest, _ := strings.Cut(s, " ")
			argv, s = append(argv, word), rest
			continue
		}
		var word strings.Builder
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' {
				i++
				if i == len(s) || !strings.ContainsRune("\"\\`$", rune(s[i])) {
					return nil, fmt.Errorf("unexpected escape at %d", i)
				}
			}
			word.WriteByte(s[i])
		}
		if i == len(s) {
			return nil, fmt.Errorf("unterminated quote")
		}
		argv = append(argv, word.String())
		s = strings.TrimPrefix(s[i+1:], " ")
	}
	return argv, nil
}

// TestSecurity reads the exposure score systemd-analyze security gives each
// unit: 2.0 or lower for strict hardening, as the issue demands.
func TestSecurity(t *testing.T) {
	analyze := testenv.LookPath(t, "systemd-analyze")
	scores := map[string]float64{}
	for _, c := range cases {
		root, o := writeCase(t, c)
		score := exposure(t, analyze, filepath.Join(root, o.Name+".service"))
		scores[c.name] = score
		t.Logf("exposure of %s (%s): %.1f", c.name, cmp.Or(o.Hardening, Strict), score)
		if o.Hardening == "" || o.Hardening == Strict {
			assert.LessOrEqual(t, score, 2.0, "%s: strict hardening scores %.1f", c.name, score)
		}
	}
	t.Logf("exposure: strict %.1f, basic %.1f, none %.1f", scores["strict"], scores["basic"], scores["none"])
	assert.Less(t, scores["strict"], scores["basic"])
	assert.Less(t, scores["basic"], scores["none"])

	// A unit for another server (an ASGI one, or one runapp does not
	// know) scores as gunicorn's of the same hardening does: strict with
	// the capability, or strict-highport without it. Only what the server
	// needs differs, never the sandbox.
	for _, c := range cases {
		o := c.opts("")
		if o.Config.Server == "" || o.Config.Server == "gunicorn" || cmp.Or(o.Hardening, Strict) != Strict {
			continue
		}
		text, err := Service(o)
		require.NoError(t, err)
		like := "strict-highport"
		if strings.Contains(text, "\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n") {
			like = "strict"
		}
		assert.Equal(t, scores[like], scores[c.name], "%s scores as gunicorn's %s unit", c.name, like)
	}
}

var overall = regexp.MustCompile(`Overall exposure level for [^:]+: (\d+\.\d)`)

func exposure(t *testing.T, analyze, path string) float64 {
	t.Helper()
	out, err := exec.Command(analyze, "security", "--offline=yes", "--no-pager", path).CombinedOutput()
	require.NoError(t, err, string(out))
	m := overall.FindSubmatch(out)
	require.NotNil(t, m, string(out))
	score, err := strconv.ParseFloat(string(m[1]), 64)
	require.NoError(t, err)
	return score
}

func TestBadOptions(t *testing.T) {
	good := func() Options { return strictConfig("", Strict) }
	tests := []struct {
		name   string
		change func(*Options)
		msg    string
	}{
		{"relative app dir", func(o *Options) { o.Config.AppDir = "srv/shop" }, `--app-dir "srv/shop" is not an absolute path`},
		{"relative runapp", func(o *Options) { o.Runapp = "runapp" }, "runapp's path"},
		{"relative writable", func(o *Options) { o.Writable = []string{"media"} }, `--writable "media" is not an absolute path`},
		{"newline in path", func(o *Options) { o.Config.AppDir = "/srv/a\nb" }, "contains a newline"},
		{"newline in argument", func(o *Options) { o.Config.Args = []string{"a\nb"} }, "contains a newline"},
		{"tab in argument", func(o *Options) { o.Config.Args = []string{"a\tb"} }, "control character"},
		{"invalid UTF-8", func(o *Options) { o.Description = "caf\xe9" }, "not valid UTF-8"},
		{"trailing backslash", func(o *Options) { o.Config.AppDir = `/srv/a\` }, "ends with a backslash"},
		{"trailing space", func(o *Options) { o.Writable = []string{"/srv/a "} }, "white space"},
		{"bad unit name", func(o *Options) { o.Name = "my shop" }, `unit name "my shop" is not valid`},
		{"template name", func(o *Options) { o.Name = "shop@" }, "not valid"},
		{"bad after", func(o *Options) { o.After = []string{"postgresql"} }, `--after "postgresql" is not a unit name`},
		{"bad wants", func(o *Options) { o.Wants = []string{"a b.service"} }, "--wants"},
		{"no user", func(o *Options) { o.User = "" }, "runs the app as root"},
		{"bad user", func(o *Options) { o.User = "a:b" }, `--user "a:b"`},
		{"bad group", func(o *Options) { o.Group = "-x" }, `--group "-x"`},
		{"bad hardening", func(o *Options) { o.Hardening = "max" }, "want strict, basic or none"},
		{"bad socket", func(o *Options) { o.Listen = "localhost:80" }, "numeric address"},
		{"bad port", func(o *Options) { o.Listen = "70000" }, "from 1 to 65535"},
		{"octal port", func(o *Options) { o.Listen = "127.0.0.1:010" }, `--socket "127.0.0.1:010": want a port from 1 to 65535, ADDR:PORT with a numeric address ([::1]:8000 for IPv6) or an absolute unix socket path`},
		{"signed port", func(o *Options) { o.Listen = "+80" }, "from 1 to 65535"},
		{"bracketed IPv4", func(o *Options) { o.Listen = "[127.0.0.1]:80" }, "numeric address ([::1]:8000 for IPv6)"},
		{"bare IPv6", func(o *Options) { o.Listen = "::1:80" }, "numeric address ([::1]:8000 for IPv6)"},
		{"runapp path", func(o *Options) { o.Runapp = `/opt/"x"/runapp` }, "systemd cannot run"},
		{"relative socket", func(o *Options) { o.Listen = "run/x.sock" }, "want a port"},
		{"long socket", func(o *Options) { o.Listen = "/run/" + strings.Repeat("x", 120) }, "longer than"},
		{"uvicorn binds besides the socket", func(o *Options) {
			o.Config.Server, o.ServerVersion, o.Listen = "uvicorn", "0.17.6", "127.0.0.1:80"
			o.Config.Args = []string{"--port", "80", "api:app"}
		}, "uvicorn serves its socket when given --fd 3, which runapp unit adds; drop the arguments that bind 127.0.0.1:80"},
		{"daphne IPv6 socket not taken", func(o *Options) {
			o.Config.Server, o.ServerVersion, o.Listen = "daphne", "any", "[::1]:80"
			o.Config.Args = []string{"--fd", "3", "api:app"}
		}, "given -e systemd:domain=INET6:index=0, which runapp unit adds; drop the arguments that bind fd:fileno=3"},
		{"optional credential", func(o *Options) { o.Credential = true; o.Config.EnvFiles = []string{"-.env"} }, "optional"},
		{"graceful timeout", func(o *Options) { o.Config.Args = []string{"--graceful-timeout", "soon"} }, "not a number of seconds"},
		{"bind without value", func(o *Options) { o.Config.Args = []string{"-b"} }, "needs a value"},
		{"daemon", func(o *Options) { o.Config.Args = []string{"--daemon", "x.wsgi"} }, "-D/--daemon"},
		{"bundled daemon", func(o *Options) { o.Config.Args = []string{"-Db:80", "x.wsgi"} }, "-D/--daemon"},
		{"unix bind in tmp", func(o *Options) { o.Config.Args = []string{"-b", "unix:/tmp/shop.sock"} }, "PrivateTmp"},
		{"gunicorn version", func(o *Options) { o.ServerVersion = "latest" }, "not a version number"},
		{"exec", func(o *Options) { o.Config.Command = true }, "runapp exec"},
		{"no env files", func(o *Options) { o.Config.NoEnvFiles = true }, "without env files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good()
			tt.change(&o)
			_, err := Service(o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
			assert.Equal(t, launcher.ExitUsage, launcher.ExitCode(err))
			_, err = Socket(o)
			assert.Error(t, err)
		})
	}
}

func TestExecWord(t *testing.T) {
	tests := []struct{ in, want string }{
		{"project.wsgi", "project.wsgi"},
		{"--bind=0.0.0.0:80", "--bind=0.0.0.0:80"},
		{"", `""`},
		{"a b", `"a b"`},
		{"$HOME", "$$HOME"},
		{"100%", "100%%"},
		{`a"b`, `"a\"b"`},
		{`a\b`, `"a\\b"`},
		{"it's", `"it's"`},
		{";", `";"`},
		{"ü", `"ü"`},
		{"$ %", `"$$ %%"`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, execWord(tt.in), "%q", tt.in)
	}
}

// The unit fits the server server.Lookup finds, by any of its names; a
// version for a server runapp does not know is refused, not applied to a
// guess.
func TestServiceFitsTheServer(t *testing.T) {
	for _, name := range []string{"gunicorn3", "/srv/shop/venv/bin/gunicorn"} {
		o := strictConfig("", Strict)
		o.Config.Server = name
		text, err := Service(o)
		require.NoError(t, err, name)
		assert.Contains(t, text, "\nType=notify\n", name)
		assert.Contains(t, text, "\nExecReload=/bin/kill -HUP $MAINPID\n", name)
		assert.Contains(t, text, "\nTimeoutStopSec=70\n", name)
	}

	o := strictConfig("", Strict)
	o.Config.Args = []string{"--graceful-timeout", "0", "shop.wsgi"}
	text, err := Service(o)
	require.NoError(t, err)
	assert.Contains(t, text, "\nTimeoutStopSec=10\n", "gunicorn stops at once, and takes a moment to exit")

	o = strictConfig("", Strict)
	o.Config.Server = "uwsgi"
	_, err = Service(o)
	assert.ErrorContains(t, err, "does not know the server uwsgi")
	assert.Equal(t, launcher.ExitUsage, launcher.ExitCode(err))

	o.ServerVersion = ""
	text, err = Service(o)
	require.NoError(t, err)
	assert.Contains(t, text, "\nType=exec\n")
	assert.Contains(t, text, "\nTimeoutStopSec=40\n")
	assert.NotContains(t, text, "ExecReload=")
	assert.NotContains(t, text, "AmbientCapabilities=")
}

// A server runapp does not know gets a unit that assumes only that it
// stays in the foreground, and a notice says what runapp could not know.
func TestNotice(t *testing.T) {
	o := strictConfig("", Strict)
	notice, err := Notice(o)
	require.NoError(t, err)
	assert.Empty(t, notice, "gunicorn 20.1 is in the table")

	for _, tt := range []struct{ server, version, listen, first, binds string }{
		{"uwsgi", "", "", "runapp does not know the server uwsgi,", "give --socket PORT"},
		{"/srv/shop/bin/serve", "", "/run/shop/shop.sock", "runapp does not know the server serve,", "must serve the socket systemd passes"},
		{"gunicorn", "", "", "told to assume nothing of gunicorn,", "AmbientCapabilities=CAP_NET_BIND_SERVICE"},
	} {
		o := strictConfig("", Strict)
		o.Config.Server, o.ServerVersion, o.Listen = tt.server, tt.version, tt.listen
		notice, err := Notice(o)
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSuffix(notice, "\n"), "\n  ")
		require.Len(t, lines, 5, notice)
		assert.True(t, strings.HasPrefix(lines[0], tt.first), lines[0])
		assert.Contains(t, lines[1], "readiness: Type=exec")
		assert.Contains(t, lines[2], "reload: no ExecReload=")
		assert.Contains(t, lines[3], "graceful stop: TimeoutStopSec=40")
		assert.Contains(t, lines[4], tt.binds)
	}

	o.Hardening = "max"
	_, err = Notice(o)
	assert.ErrorContains(t, err, "want strict, basic or none")
}

// With --socket and no SERVER-ARGS, the unit gives the server the argument
// that takes fd 3, of the socket's family; launcher then finds the app after
// it. Given already, it is not added again.
func TestSocketArgsAdded(t *testing.T) {
	for _, tt := range []struct {
		server, version, listen string
		args                    []string
		exec                    string
	}{
		{"uvicorn", "0.17.6", "8000", nil, "--server uvicorn -- --fd 3\n"},
		{"uvicorn", "0.17.6", "8000", []string{"--workers", "1", "api:app"}, "--server uvicorn -- --fd 3 --workers 1 api:app\n"},
		{"uvicorn", "0.17.6", "8000", []string{"api:app", "--fd", "3"}, "--server uvicorn -- api:app --fd 3\n"},
		{"hypercorn", "any", "[::1]:8000", nil, "--server hypercorn -- --bind fd://3\n"},
		{"daphne", "any", "/run/shop/shop.sock", nil, "--server daphne -- -e systemd:domain=UNIX:index=0\n"},
		{"gunicorn", "20.1.0", "80", nil, "--venv /srv/shop/venv\n"},
	} {
		o := strictConfig("", Strict)
		o.Config.Server, o.ServerVersion, o.Listen, o.Config.Args = tt.server, tt.version, tt.listen, tt.args
		if tt.server == "gunicorn" {
			o.Config.Server = ""
		}
		text, err := Service(o)
		require.NoError(t, err, tt.server)
		assert.Contains(t, text, tt.exec, tt.server)
		assert.NotContains(t, text, "AmbientCapabilities=", tt.server)
		argv, err := ExecArgv(o)
		require.NoError(t, err)
		assert.True(t, strings.HasSuffix(strings.Join(argv, " ")+"\n", tt.exec), "%q", argv)
	}
}

// A bind bundled after a flag (-Rb:80) is a bind: gunicorn binds port 80,
// so the unit grants the capability even though another bind is high.
func TestServiceBundledBind(t *testing.T) {
	o := strictConfig("", Strict)
	o.Config.Args = []string{"-Rb:80", "-b", "127.0.0.1:8000", "shop.wsgi"}
	text, err := Service(o)
	require.NoError(t, err)
	assert.Contains(t, text, "AmbientCapabilities=CAP_NET_BIND_SERVICE\n")

	o.Config.Args = []string{"-Rb:8080", "-b", "127.0.0.1:8000", "shop.wsgi"}
	text, err = Service(o)
	require.NoError(t, err)
	assert.NotContains(t, text, "AmbientCapabilities=")
}

func TestValidUnitName(t *testing.T) {
	tests := map[string]bool{
		"postgresql.service":                  true,
		"postgresql@15-main.service":          true,
		"network-online.target":               true,
		"a\\x20b.mount":                       true,
		"postgresql":                          false,
		".service":                            false,
		"a b.service":                         false,
		"x.unknown":                           false,
		"getty@.service":                      false,
		strings.Repeat("a", 250) + ".service": false,
	}
	for name, want := range tests {
		assert.Equal(t, want, validUnitName(name), name)
	}
}

// The default description names the server and the directory, with "%"
// escaped.
func TestDefaultDescription(t *testing.T) {
	o := strictConfig("", Strict)
	o.Description = ""
	o.Config.AppDir = "/srv/100%"
	text, err := Service(o)
	require.NoError(t, err)
	assert.Contains(t, text, "\nDescription=gunicorn for /srv/100%%, started by runapp\n")
}
