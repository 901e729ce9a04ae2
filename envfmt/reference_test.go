package envfmt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	composedotenv "github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/runapp/runapp/internal/testenv"
	"github.com/stretchr/testify/require"
)

// The real readers, for the differential tests: bash 5.2 (set -a; source),
// systemd 252's load_env_file (envfile/testdata/sdenv.c against
// libsystemd-shared), python-dotenv (Debian's python3-dotenv, run by
// /usr/bin/python3) and compose-go v2's dotenv package, linked into the
// test only.

const libsystemdShared = "/usr/lib/x86_64-linux-gnu/systemd/libsystemd-shared-252.so"

// real is what one real reader made of one file: Err says why it did not
// read the file cleanly ("" when it did).
type real struct {
	Err  string
	Vars map[string]string
}

// refDir holds copies of the files the readers read, readable by nobody.
type refDir struct {
	dir, work string
	n         int
	nobody    bool
}

func newRefDir(t testing.TB) *refDir {
	t.Helper()
	dir, err := os.MkdirTemp("", "envfmt-ref-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	work := filepath.Join(dir, "work")
	require.NoError(t, os.Mkdir(work, 0o777))
	require.NoError(t, os.Chmod(dir, 0o755))
	require.NoError(t, os.Chmod(work, 0o777))
	nobody := os.Geteuid() == 0
	for d := dir; nobody; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			nobody = false
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	return &refDir{dir: dir, work: work, nobody: nobody}
}

func (d *refDir) add(t testing.TB, data []byte) string {
	t.Helper()
	d.n++
	p := filepath.Join(d.dir, fmt.Sprintf("f%06d.env", d.n))
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

func (d *refDir) run(t testing.TB, prog string, args []string, env []string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = env
	cmd.Dir = d.work
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if d.nobody && filepath.Base(prog) == "bash" {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	require.NoError(t, cmd.Run(), "%s failed: %s", filepath.Base(prog), stderr.String())
	return stdout.Bytes()
}

// bashScript: as envfile's reference, source each file in a subshell and
// print NUL-separated fields: path, status, stderr, =NAME=VALUE..., "".
const bashScript = `
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
		for __n in $(compgen -e); do
			printf '=%s=%s\0' "$__n" "${!__n}"
		done
	)
	printf '\0'
done
`

func runBash(t testing.TB, d *refDir, paths []string) []real {
	t.Helper()
	bash := testenv.LookPath(t, "bash")
	empty := filepath.Join(d.dir, "empty.env")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	out := d.run(t, bash, append([]string{"--norc", "--noprofile", "-c", bashScript, "bash", filepath.Join(d.work, ".stderr"), "C.UTF-8", empty}, paths...), []string{})
	recs := splitRecords(t, out, append([]string{empty}, paths...))
	base := recs[0]
	res := make([]real, len(paths))
	for i, r := range recs[1:] {
		v := map[string]string{}
		for k, val := range r.vars {
			if old, ok := base.vars[k]; k != "_" && (!ok || old != val) {
				v[k] = val
			}
		}
		res[i] = real{Vars: v}
		if stderr := withoutSetlocaleWarnings(r.stderr, paths[i]); r.status != "status 0" || stderr != "" {
			res[i].Err = "bash: " + r.status + " " + stderr
		}
	}
	return res
}

// withoutSetlocaleWarnings drops bash's warnings that the file set LC_ALL
// to a locale the machine lacks: bash exports the value all the same
// (envfile's reference does the same).
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

var setlocaleWarning = regexp.MustCompile(`\A.*: line \d+: warning: setlocale: LC_ALL: cannot change locale \((?s:.*)\)(?:: [A-Z][a-z ]+)?\n?\z`)

var sdenv struct {
	once       sync.Once
	path, skip string
	err        error
}

func runSystemd(t testing.TB, d *refDir, paths []string) []real {
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
		dir, err := os.MkdirTemp("", "envfmt-sdenv-")
		if err != nil {
			sdenv.err = err
			return
		}
		out := filepath.Join(dir, "sdenv")
		cmd := exec.Command(gcc, "-O1", "-Wall", "-Werror", "-o", out, filepath.Join("..", "envfile", "testdata", "sdenv.c"),
			"-Wl,-rpath,"+filepath.Dir(libsystemdShared), "-L"+filepath.Dir(libsystemdShared), "-l:"+filepath.Base(libsystemdShared))
		if msg, err := cmd.CombinedOutput(); err != nil {
			sdenv.err = fmt.Errorf("cannot build sdenv.c: %w\n%s", err, msg)
			return
		}
		sdenv.path = out
	})
	if sdenv.skip != "" {
		testenv.Skip(t, sdenv.skip)
	}
	require.NoError(t, sdenv.err)
	recs := splitRecords(t, d.run(t, sdenv.path, paths, []string{}), paths)
	res := make([]real, len(paths))
	for i, r := range recs {
		res[i] = real{Vars: r.vars}
		switch {
		case r.status != "ok":
			res[i].Err = "systemd: " + r.status
		case len(r.dropped) > 0:
			res[i].Err = "systemd drops " + strings.Join(r.dropped, ", ")
		}
	}
	return res
}

type rawRecord struct {
	status, stderr string
	vars           map[string]string
	dropped        []string
}

func splitRecords(t testing.TB, out []byte, paths []string) []rawRecord {
	t.Helper()
	fields := strings.Split(string(out), "\x00")
	var recs []rawRecord
	i := 0
	for _, p := range paths {
		require.Less(t, i, len(fields))
		require.Equal(t, p, fields[i], "reference output out of step")
		i++
		r := rawRecord{vars: map[string]string{}}
		for ; i < len(fields) && fields[i] != ""; i++ {
			f := fields[i]
			switch {
			case strings.HasPrefix(f, "="):
				k, v, _ := strings.Cut(f[1:], "=")
				r.vars[k] = v
			case strings.HasPrefix(f, "!"):
				r.dropped = append(r.dropped, f[1:])
			case strings.HasPrefix(f, "stderr:"):
				r.stderr = f[len("stderr:"):]
			case r.status == "":
				r.status = f
			}
		}
		i++
		recs = append(recs, r)
	}
	return recs
}

// runDotenv reads the files with python-dotenv, all in one python3.
func runDotenv(t testing.TB, d *refDir, paths []string) []real {
	t.Helper()
	python := testenv.LookPath(t, "/usr/bin/python3")
	if err := exec.Command(python, "-c", "import dotenv").Run(); err != nil {
		testenv.Skip(t, "python-dotenv is needed as a reference: apt-get install python3-dotenv")
	}
	script, err := filepath.Abs(filepath.Join("testdata", "dotenv_values.py"))
	require.NoError(t, err)
	out := d.run(t, python, append([]string{script}, paths...), []string{"PYTHONUTF8=1"})
	res := make([]real, len(paths))
	dec := json.NewDecoder(bytes.NewReader(out))
	for i, p := range paths {
		var r struct {
			Path     string
			Values   map[string]*string
			Warnings []string
			Error    string
		}
		require.NoError(t, dec.Decode(&r))
		require.Equal(t, p, r.Path)
		v := map[string]string{}
		none := []string{}
		for k, val := range r.Values {
			if val == nil {
				none = append(none, k)
				continue
			}
			v[k] = *val
		}
		res[i] = real{Vars: v}
		switch {
		case r.Error != "":
			res[i].Err = "python-dotenv: " + r.Error
		case len(r.Warnings) > 0:
			res[i].Err = "python-dotenv: " + strings.Join(r.Warnings, "; ")
		case len(none) > 0:
			res[i].Err = "python-dotenv: no value for " + strings.Join(none, ", ")
		}
	}
	return res
}

// readComposeReal reads data with compose-go's own parser, no environment.
func readComposeReal(data []byte) real {
	v, err := composedotenv.ParseWithLookup(bytes.NewReader(data), func(string) (string, bool) { return "", false })
	if err != nil {
		return real{Err: "compose: " + err.Error()}
	}
	return real{Vars: v}
}
