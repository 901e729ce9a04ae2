package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/internal/testenv"
)

// failure is what a run of runapp that stops before the exec left behind.
type failure struct {
	code    int
	stderr  string
	notices []testenv.Notification // datagrams on NOTIFY_SOCKET, when one was given
	pid     int
}

// runFail runs runapp in dir with args and env, stderr to a file. With
// journal set, JOURNAL_STREAM names that file as systemd would name the
// journal's stream; with sock set, NOTIFY_SOCKET names it.
func runFail(t *testing.T, dir string, env []string, journal bool, sock *testenv.NotifySocket, args ...string) failure {
	t.Helper()
	stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	require.NoError(t, err)
	defer stderr.Close()
	if journal {
		var st unix.Stat_t
		require.NoError(t, unix.Fstat(int(stderr.Fd()), &st))
		env = append(env, fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino))
	}
	if sock != nil {
		env = append(env, "NOTIFY_SOCKET="+sock.Addr)
	}
	// runapp must stop before the exec. Should it serve instead, end it and
	// its workers rather than hang until go test's -timeout.
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, needRunapp(t), args...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	err = cmd.Run()
	if ctx.Err() != nil {
		out, _ := os.ReadFile(stderr.Name())
		t.Fatalf("runapp %q still running after %v; output:\n%s%s", args, bootTimeout, stdout.String(), out)
	}
	if _, ok := err.(*exec.ExitError); !ok {
		require.NoError(t, err)
	}
	out, err := os.ReadFile(stderr.Name())
	require.NoError(t, err)
	f := failure{code: cmd.ProcessState.ExitCode(), stderr: string(out), pid: cmd.Process.Pid}
	assert.Empty(t, stdout.String(), "stdout")
	if sock != nil {
		// runapp has exited: whatever it sent is queued already.
		for {
			n, ok := sock.Receive(t, 100*time.Millisecond)
			if !ok {
				break
			}
			f.notices = append(f.notices, n)
		}
	}
	return f
}

// TestExitCodes runs the built binary into every way it refuses to start
// and checks the exit code, the message, and what systemd would see: a
// STATUS= with the reason and never READY=1 on NOTIFY_SOCKET, and
// journal priority prefixes when stderr is the journal.
func TestExitCodes(t *testing.T) {
	needRunapp(t)
	venv := needVenv(t)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, app string) []string // runapp's arguments
		code  int
		want  []string // in stderr; %APP is the app directory
		never []string // values that must not be printed
	}{
		{
			name:  "unknown flag",
			setup: func(t *testing.T, app string) []string { return []string{"--app-dir", app, "--frobnicate"} },
			code:  2,
			want:  []string{"frobnicate"},
		},
		{
			name:  "unknown command",
			setup: func(t *testing.T, app string) []string { return []string{"frobnicate", "--app-dir", app} },
			code:  2,
			want:  []string{`unknown command "frobnicate"`},
		},
		{
			name:  "server argument before --",
			setup: func(t *testing.T, app string) []string { return []string{"--app-dir", app, "project.wsgi"} },
			code:  2,
			want:  []string{"project.wsgi", "--"},
		},
		{
			name: "bad env file",
			setup: func(t *testing.T, app string) []string {
				writeFile(t, filepath.Join(app, ".env"), strings.Join([]string{
					"SECRET_KEY='fine'",
					"DEBUG=0",
					"DB_PASSWORD=hunter2 # the inline comment bash drops and systemd keeps",
					"SITE_NAME='ok'",
					"API_TOKEN=tok$PRIVATE",
					"",
				}, "\n"), 0o600)
				return []string{"--app-dir", app, "--venv", venv}
			},
			code:  78,
			want:  []string{"%APP/.env:3", "DB_PASSWORD", "%APP/.env:5", "API_TOKEN"},
			never: []string{"hunter2", "tok", "PRIVATE", "fine"},
		},
		{
			name: "missing env file",
			setup: func(t *testing.T, app string) []string {
				return []string{"--app-dir", app, "--venv", venv, "--env-file", "prod.env"}
			},
			code: 78,
			want: []string{"%APP/prod.env", "does not exist", "--env-file -prod.env"},
		},
		{
			name: "missing virtualenv",
			setup: func(t *testing.T, app string) []string {
				return []string{"--app-dir", app, "--venv", "/nonexistent/venv"}
			},
			code:  78,
			want:  []string{"/nonexistent/venv", "does not exist"},
			never: []string{"demo-only"},
		},
		{
			name: "no wsgi module",
			setup: func(t *testing.T, app string) []string {
				require.NoError(t, os.Remove(filepath.Join(app, "src", "project", "wsgi.py")))
				return []string{"--app-dir", app, "--venv", venv}
			},
			code: 78,
			want: []string{"no Django WSGI module", "%APP/src"},
		},
		{
			name: "several wsgi modules",
			setup: func(t *testing.T, app string) []string {
				writeFile(t, filepath.Join(app, "src", "legacy", "wsgi.py"), "", 0o644)
				return []string{"--app-dir", app, "--venv", venv}
			},
			code: 78,
			want: []string{"several WSGI modules", "project.wsgi", "legacy.wsgi"},
		},
		{
			name: "server not found",
			setup: func(t *testing.T, app string) []string {
				return []string{"--app-dir", app, "--venv", venv, "--server", "nosuch"}
			},
			code: 127,
			want: []string{"nosuch: not found", venv + "/bin"},
		},
		{
			name: "exec command not found",
			setup: func(t *testing.T, app string) []string {
				return []string{"exec", "--app-dir", app, "--venv", venv, "--", "nosuch", "--flag"}
			},
			code: 127,
			want: []string{"nosuch: not found"},
		},
		{
			name: "server not executable",
			setup: func(t *testing.T, app string) []string {
				writeFile(t, filepath.Join(app, "serve"), "#!/bin/sh\nexit 0\n", 0o644)
				return []string{"--app-dir", app, "--venv", venv, "--server", "./serve"}
			},
			code: 126,
			want: []string{"%APP/serve is not executable", "chmod +x"},
		},
		{
			// A virtualenv moved after pip wrote its scripts: bin/python
			// still works, gunicorn's #! names the old place.
			name: "moved virtualenv",
			setup: func(t *testing.T, app string) []string {
				_, err := mkvenv(filepath.Join(app, "old-venv"))
				require.NoError(t, err)
				require.NoError(t, os.Rename(filepath.Join(app, "old-venv"), filepath.Join(app, ".venv")))
				return []string{"--app-dir", app}
			},
			code: 126,
			want: []string{"%APP/.venv/bin/gunicorn starts with #!%APP/old-venv/bin/python3", "recreate"},
		},
		{
			// Python upgraded, the one the virtualenv was made with
			// removed: runapp must say so, not fall back to PATH.
			name: "virtualenv's Python removed",
			setup: func(t *testing.T, app string) []string {
				breakVenv(t, filepath.Join(app, ".venv"))
				return []string{"--app-dir", app}
			},
			code: 126,
			want: []string{"%APP/.venv/bin/gunicorn starts with #!%APP/.venv/bin/python3", "Python removed"},
		},
		{
			name: "--venv whose Python was removed",
			setup: func(t *testing.T, app string) []string {
				breakVenv(t, filepath.Join(app, "env"))
				return []string{"--app-dir", app, "--venv", "env"}
			},
			code: 126,
			want: []string{"%APP/env/bin/gunicorn starts with #!%APP/env/bin/python3", "Python removed"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := newApp(t)
			args := tc.setup(t, app)
			sock := newNotifySocket(t)
			plain := runFail(t, t.TempDir(), baseEnv(), false, sock, args...)

			assert.Equal(t, tc.code, plain.code, "exit code; stderr:\n%s", plain.stderr)
			for _, s := range tc.want {
				assert.Contains(t, plain.stderr, strings.ReplaceAll(s, "%APP", app))
			}
			for _, s := range tc.never {
				assert.NotContains(t, plain.stderr, s, "a value was printed")
			}
			lines := strings.Split(strings.TrimSuffix(plain.stderr, "\n"), "\n")
			for _, line := range lines {
				assert.True(t, strings.HasPrefix(line, "runapp: "), "line %q", line)
			}

			// systemd hears why, from runapp's PID, and is never told ready.
			require.NotEmpty(t, plain.notices, "no STATUS= on NOTIFY_SOCKET")
			var status string
			for _, n := range plain.notices {
				assert.Equal(t, plain.pid, n.PID, "sender")
				for _, kv := range strings.Split(n.Msg, "\n") {
					assert.NotEqual(t, "READY=1", kv)
					if s, ok := strings.CutPrefix(kv, "STATUS="); ok {
						status = s
					}
				}
			}
			assert.True(t, strings.HasPrefix(status, lines[0]), "STATUS=%s does not start with %s", status, lines[0])
			for _, s := range tc.never {
				assert.NotContains(t, status, s, "a value was sent")
			}

			// With stderr as the journal: the same lines, at priority err.
			journal := runFail(t, t.TempDir(), baseEnv(), true, nil, args...)
			assert.Equal(t, tc.code, journal.code)
			want := ""
			for _, line := range lines {
				want += "<3>" + line + "\n"
			}
			assert.Equal(t, want, journal.stderr)
		})
	}
}

// TestJournalStreamOfAnotherFile: JOURNAL_STREAM inherited from a parent
// whose stderr was the journal, while runapp's stderr is not, gets no
// prefixes (systemd's own rule for sd-daemon prefixes).
func TestJournalStreamOfAnotherFile(t *testing.T) {
	needRunapp(t)
	other, err := os.Create(filepath.Join(t.TempDir(), "other"))
	require.NoError(t, err)
	defer other.Close()
	var st unix.Stat_t
	require.NoError(t, unix.Fstat(int(other.Fd()), &st))
	env := baseEnv(fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino))
	f := runFail(t, t.TempDir(), env, false, nil, "--app-dir", newApp(t), "--venv", "/nonexistent/venv")
	assert.Equal(t, 78, f.code)
	assert.True(t, strings.HasPrefix(f.stderr, "runapp: "), "stderr %q", f.stderr)
}

// breakVenv makes a virtualenv in dir whose Python is gone, as after an
// upgrade removed the Python it was made with.
func breakVenv(t *testing.T, dir string) {
	t.Helper()
	_, err := mkvenv(dir)
	require.NoError(t, err)
	py := filepath.Join(dir, "bin", "python3")
	require.NoError(t, os.Remove(py))
	require.NoError(t, os.Symlink("/usr/bin/python3.9-removed", py))
}
