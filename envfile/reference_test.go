package envfile_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/internal/testenv"
	"github.com/stretchr/testify/require"
)

// libsystemdShared is the library PID 1 of systemd 252 uses to read
// EnvironmentFile=; testdata/sdenv.c calls its parser.
const libsystemdShared = "/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so"

// buildDir holds the sdenv binary for the whole test run.
var buildDir string

func TestMain(m *testing.M) {
	var err error
	buildDir, err = os.MkdirTemp("", "envfile-sdenv-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(buildDir)
	os.Exit(code)
}

var sdenv struct {
	once sync.Once
	path string
	skip string // why systemd's reader cannot run here
	err  error  // the build failed although its inputs are there
}

// sdenvPath compiles testdata/sdenv.c once per test run and returns the
// binary, or skips the test when gcc or libsystemd-shared-252 is missing.
func sdenvPath(t testing.TB) string {
	t.Helper()
	sdenv.once.Do(func() {
		gcc, err := exec.LookPath("gcc")
		if err != nil {
			sdenv.skip = "gcc is needed to build the systemd reference: " + err.Error()
			return
		}
		if _, err := os.Stat(libsystemdShared); err != nil {
			sdenv.skip = "systemd 252's parser is needed as the reference: " + err.Error()
			return
		}
		out := filepath.Join(buildDir, "sdenv")
		cmd := exec.Command(gcc, "-O1", "-Wall", "-Werror", "-o", out, filepath.Join("testdata", "sdenv.c"),
			"-Wl,-rpath,"+filepath.Dir(libsystemdShared), "-L"+filepath.Dir(libsystemdShared),
			"-l:"+filepath.Base(libsystemdShared))
		if msg, err := cmd.CombinedOutput(); err != nil {
			sdenv.err = fmt.Errorf("cannot build testdata/sdenv.c: %w\n%s", err, msg)
			return
		}
		sdenv.path = out
	})
	if sdenv.skip != "" {
		testenv.Skip(t, sdenv.skip)
	}
	require.NoError(t, sdenv.err)
	return sdenv.path
}

// refResult is what one reference reader made of one file.
type refResult struct {
	// Err says why the reader did not read the file cleanly: an error, a
	// complaint on stderr, an assignment it drops. "" when it read it cleanly.
	Err string
	// Vars is every variable the file set, with its value.
	Vars map[string]string
}

// refDir is a directory the reference readers can read as an unprivileged
// user, holding copies of the files to compare.
type refDir struct {
	dir    string // files to read, 0755
	work   string // the working directory bash runs in, writable
	n      int
	nobody bool // bash runs as nobody: we are root and nobody can reach dir
}

func newRefDir(t testing.TB) *refDir {
	t.Helper()
	dir, err := os.MkdirTemp("", "envfile-ref-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	work := filepath.Join(dir, "work")
	require.NoError(t, os.Mkdir(work, 0o777))
	// MkdirTemp and Mkdir honour the umask; nobody must get in.
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chmod(work, 0o777))
	return &refDir{dir: dir, work: work, nobody: os.Geteuid() == 0 && worldSearchable(dir)}
}

// worldSearchable reports whether every directory from / down to dir lets
// other users through, so that nobody can read the files in dir.
func worldSearchable(dir string) bool {
	for ; ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if dir == filepath.Dir(dir) {
			return true
		}
	}
}

// add writes data to a new file in the directory and returns its path.
func (d *refDir) add(t testing.TB, data []byte) string {
	t.Helper()
	d.n++
	p := filepath.Join(d.dir, fmt.Sprintf("f%06d.env", d.n))
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

// bashScript sources each file in a subshell of one bash process, as the
// run script does (`set -a; source .env; set +a`), and prints, NUL-separated:
// the path, "status N", "stderr:TEXT", "=NAME=VALUE" for every exported
// variable, and an empty field ending the record. Only builtins run after
// the source, so a file that sets PATH cannot change what is printed, and
// nothing forks but the subshell, so a thousand files take a second.
// Setting LANG without exporting it switches bash's locale without
// changing what the files export.
var bashScript = `
err=$1; LANG=$2; shift 2
for f; do
	printf '%s\0' "$f"
	(
		set -a
		source "$f" </dev/null >/dev/null 2>"$err"
		__st=$?
		set +a
		export -n __st
		IFS= read -r -d '' __e <"$err"
		printf 'status %d\0stderr:%s\0' "$__st" "$__e"
		for __n in ` + allNames() + `; do
			[[ ${!__n@a} == *x* ]] && printf '=%s=%s\0' "$__n" "${!__n}"
		done
	)
	printf '\0'
done
`

// allNames is a bash word list that expands to the name of every variable:
// "${!a@}" expands to the names that start with "a".
func allNames() string {
	var words []string
	for _, c := range "_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" {
		words = append(words, `"${!`+string(c)+`@}"`)
	}
	return strings.Join(words, " ")
}

// Locales bash runs the files in: the empty environment of `env -i`, and the
// UTF-8 locale a service gets from /etc/locale.conf.
var bashLocales = []string{"C", "C.UTF-8"}

// runBash reads paths with `set -a; source` in a bash started with an empty
// environment and LANG=locale, and returns what each file set beyond what
// bash sets itself (found by sourcing an empty file first).
func runBash(t testing.TB, d *refDir, locale string, paths []string) []refResult {
	t.Helper()
	bash := testenv.LookPath(t, "bash")
	empty := filepath.Join(d.dir, "empty.env")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	args := append([]string{"--norc", "--noprofile", "-c", bashScript, "bash",
		filepath.Join(d.work, ".stderr"), locale, empty}, paths...)
	out := runRef(t, d, bash, args)
	records := splitRecords(t, out, append([]string{empty}, paths...))

	base := records[0]
	require.Equal(t, "status 0", base.status, "bash cannot source an empty file")
	results := make([]refResult, len(paths))
	for i, r := range records[1:] {
		res := refResult{Vars: map[string]string{}}
		for name, v := range r.vars {
			if name == "_" { // the last argument of the last command
				continue
			}
			if old, ok := base.vars[name]; !ok || old != v {
				res.Vars[name] = v
			}
		}
		stderr := withoutSetlocaleWarnings(r.stderr, paths[i])
		switch {
		case r.status == "":
			res.Err = "bash exited while sourcing the file"
		case r.status != "status 0" || stderr != "":
			res.Err = strings.TrimSpace(r.status + ": " + stderr)
		}
		results[i] = res
	}
	return results
}

// withoutSetlocaleWarnings drops from what bash printed while sourcing path
// its warnings that the file set LC_ALL to a locale the machine lacks. bash
// exports the value all the same, as systemd does; only the run script's log
// differs. The locale name may hold ")" and newlines, so the text is first
// cut where a line starts with the file's name, as each of bash's messages
// does.
func withoutSetlocaleWarnings(stderr, path string) string {
	var kept strings.Builder
	for len(stderr) > 0 {
		msg := stderr
		if n := strings.Index(stderr[1:], "\n"+path+": line "); n >= 0 {
			msg = stderr[:n+2]
		}
		if !setlocaleWarning.MatchString(msg) {
			kept.WriteString(msg)
		}
		stderr = stderr[len(msg):]
	}
	return kept.String()
}

// setlocaleWarning matches one such warning. The reason is left out when
// setlocale failed without setting errno, as glibc's does for a locale it
// already failed to load in this process (LANG=xx, then LC_ALL=xx).
var setlocaleWarning = regexp.MustCompile(`\A.*: line \d+: warning: setlocale: LC_ALL: cannot change locale \((?s:.*)\)(?:: [A-Z][a-z ]+)?\n?\z`)

// TestSetlocaleWarnings checks that the reference drops bash's warnings about
// a missing locale, however the locale is named, and nothing else bash says.
func TestSetlocaleWarnings(t *testing.T) {
	d := newRefDir(t)
	files := []struct {
		data, wantErr string
	}{
		{"LC_ALL=xx\n", ""},
		{"LANG=yy\nLC_ALL=yy\n", ""}, // the warning without a reason
		{"LC_ALL='x)\n/y'\n", ""},
		{"LC_ALL='x): No such file'\n", ""},
		{"LC_ALL=zz\nrunapp_no_such_command\nLC_ALL='q)\nr'\n", "line 2: runapp_no_such_command: command not found"},
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = d.add(t, []byte(f.data))
	}
	for _, locale := range bashLocales {
		for i, r := range runBash(t, d, locale, paths) {
			if files[i].wantErr == "" {
				require.Empty(t, r.Err, "%s: %q", locale, files[i].data)
				continue
			}
			require.Contains(t, r.Err, files[i].wantErr, "%s: %q", locale, files[i].data)
			require.NotContains(t, r.Err, "setlocale", "%s: %q", locale, files[i].data)
		}
	}
}

// runSystemd reads paths with systemd 252's own EnvironmentFile= reader.
func runSystemd(t testing.TB, d *refDir, paths []string) []refResult {
	t.Helper()
	out := runRef(t, d, sdenvPath(t), paths)
	records := splitRecords(t, out, paths)
	results := make([]refResult, len(paths))
	for i, r := range records {
		res := refResult{Vars: r.vars}
		switch {
		case r.status != "ok":
			res.Err = "systemd refuses the file: " + r.status
		case len(r.dropped) > 0:
			res.Err = "systemd drops " + strings.Join(r.dropped, ", ")
		}
		results[i] = res
	}
	return results
}

// runRef runs a reference reader on a batch of files. bash runs refused
// files as shell code; as nobody (when the tests run as root and TMPDIR lets
// nobody in), a stray redirection cannot write outside the scratch
// directory or /tmp.
func runRef(t testing.TB, d *refDir, prog string, args []string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = []string{}
	cmd.Dir = d.work
	cmd.Stdin = nil
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = 10 * time.Second // a background job of a random file may hold stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if d.nobody && filepath.Base(prog) == "bash" {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	err := cmd.Run()
	require.NoError(t, err, "%s failed: %s", filepath.Base(prog), stderr.String())
	return stdout.Bytes()
}

type rawRecord struct {
	status  string
	stderr  string
	vars    map[string]string
	dropped []string // names of assignments systemd drops as invalid
}

// splitRecords parses the NUL-separated records of bashScript and sdenv.
func splitRecords(t testing.TB, out []byte, paths []string) []rawRecord {
	t.Helper()
	fields := strings.Split(string(out), "\x00")
	records := make([]rawRecord, 0, len(paths))
	i := 0
	for _, path := range paths {
		require.Less(t, i, len(fields), "reference output ends before %s", path)
		require.Equal(t, path, fields[i], "reference output out of step")
		i++
		r := rawRecord{vars: map[string]string{}}
		for ; i < len(fields) && fields[i] != ""; i++ {
			f := fields[i]
			switch {
			case strings.HasPrefix(f, "="):
				name, value, _ := strings.Cut(f[1:], "=")
				r.vars[name] = value
			case strings.HasPrefix(f, "!"):
				name, _, _ := strings.Cut(f[1:], "=")
				r.dropped = append(r.dropped, strconv.Quote(name))
			case strings.HasPrefix(f, "stderr:"):
				r.stderr = strings.TrimPrefix(f, "stderr:")
			case r.status == "":
				r.status = f
			default:
				t.Fatalf("unexpected field %q for %s", f, path)
			}
		}
		i++ // the empty field ending the record
		records = append(records, r)
	}
	return records
}

// parsed is what envfile made of one file: the variables it sets, last
// assignment winning, or the error refusing it.
func parsed(data []byte) (map[string]string, error) {
	f, err := envfile.Parse("test.env", data)
	if err != nil {
		return nil, err
	}
	vars := map[string]string{}
	for _, e := range f.Entries {
		vars[e.Name] = e.Value
	}
	return vars, nil
}
