package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/internal/testenv"
	"github.com/runapp/runapp/launcher"
)

// The test binary plays runapp when RUNAPP_TEST_MAIN is set (the
// helper-process pattern), so the tests see real exit codes, real output
// and a real exec.
func TestMain(m *testing.M) {
	if os.Getenv("RUNAPP_TEST_MAIN") == "1" {
		os.Unsetenv("RUNAPP_TEST_MAIN")
		// Play a runapp built with its entry point (make build), unless
		// told otherwise.
		uncaptured := os.Getenv("RUNAPP_TEST_UNCAPTURED") == "1"
		os.Unsetenv("RUNAPP_TEST_UNCAPTURED")
		captured = func() bool { return !uncaptured }
		main()
	}
	os.Exit(m.Run())
}

type result struct {
	code           int
	stdout, stderr string
}

// runapp runs the test binary as runapp with args and extra environment.
func runapp(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append([]string{"RUNAPP_TEST_MAIN=1", "PATH=/usr/bin:/bin"}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// appDir makes an app directory with a .env and a fake virtualenv.
func appDir(t *testing.T, dotenv string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte(dotenv), 0o600))
	bin := filepath.Join(dir, ".venv", "bin")
	require.NoError(t, os.MkdirAll(bin, 0o755))
	require.NoError(t, os.Symlink("/usr/bin/env", filepath.Join(bin, "python")))
	require.NoError(t, os.WriteFile(filepath.Join(bin, "gunicorn"), []byte("#!/bin/sh\n"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "src", "project"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "src", "project", "wsgi.py"), nil, 0o644))
	return dir
}

const secret = "s3cr3t-Value"

func TestExitCodesAndMessages(t *testing.T) {
	good := appDir(t, "SECRET_KEY='"+secret+"'\n")
	bad := appDir(t, "# ok\nSECRET_KEY="+secret+"$x\nDEBUG=1\nX='"+secret+"' # note\n")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"version", []string{"version"}, 0, []string{"runapp dev\n", "\ncommit ", "\n" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"}, nil},
		{"help", []string{"help"}, 0, []string{"usage:", "exec", "env"}, nil},
		{"-h", []string{"-h"}, 0, []string{"usage:"}, nil},
		{"exec -h", []string{"exec", "-h"}, 0, []string{"usage: runapp exec", "-env-file"}, nil},
		{"unknown command", []string{"serv"}, 2, nil, []string{`runapp: unknown command "serv"`}},
		{"unknown flag", []string{"--nope"}, 2, nil, []string{"runapp: serve: flag provided but not defined: -nope"}},
		{"stray argument", []string{"--app-dir", good, "project.wsgi"}, 2, nil, []string{"after --"}},
		{"env stray argument", []string{"env", "--app-dir", good, "project.wsgi"}, 2, nil, []string{"after --"}},
		{"version argument", []string{"version", "x"}, 2, nil, []string{`runapp: version takes no arguments, got "x"`}},
		{"exec without command", []string{"exec", "--app-dir", good}, 2, nil, []string{"no command given"}},
		{"bad env file", []string{"--app-dir", bad}, 78, nil, []string{
			"runapp: " + filepath.Join(bad, ".env") + ":2: SECRET_KEY: \"$\" outside single quotes",
			"runapp: " + filepath.Join(bad, ".env") + ":4: X: inline comment",
		}},
		{"missing venv", []string{"--app-dir", good, "--venv", "nope"}, 78, nil, []string{"does not exist"}},
		{"server not found", []string{"--app-dir", good, "--server", "nosuch"}, 127, nil, []string{"nosuch: not found"}},
		{"server not executable", []string{"--app-dir", good, "--server", "./.env"}, 126, nil, []string{"not executable"}},
		{"exec runs", []string{"exec", "--app-dir", good, "--", "/bin/sh", "-c", "exit 7"}, 7, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runapp(t, nil, tt.args...)
			assert.Equal(t, tt.code, r.code, "stderr: %s", r.stderr)
			for _, s := range tt.stdout {
				assert.Contains(t, r.stdout, s)
			}
			for _, s := range tt.stderr {
				assert.Contains(t, r.stderr, s)
			}
			if tt.code != 0 && tt.code != 7 {
				assert.Equal(t, 1, strings.Count(r.stderr, "runapp: "+strings.SplitN(strings.TrimPrefix(r.stderr, "runapp: "), "\n", 2)[0]), "each error printed once")
			}
			assert.NotContains(t, r.stdout+r.stderr, secret)
		})
	}
}

func TestExecEnvironment(t *testing.T) {
	dir := appDir(t, "SECRET_KEY='"+secret+"'\nDEBUG=1\n")
	r := runapp(t, []string{"NOTIFY_SOCKET=/run/x", "LISTEN_FDS=2", "PYTHONHOME=/x"}, "exec", "--app-dir", dir, "--", "/usr/bin/env")
	require.Equal(t, 0, r.code, r.stderr)
	env := strings.Split(strings.TrimSpace(r.stdout), "\n")
	venv := filepath.Join(dir, ".venv")
	assert.Contains(t, env, "SECRET_KEY="+secret)
	assert.Contains(t, env, "DEBUG=1")
	assert.Contains(t, env, "VIRTUAL_ENV="+venv)
	assert.Contains(t, env, "PATH="+venv+"/bin:/usr/bin:/bin")
	assert.Contains(t, env, "PYTHONPATH="+filepath.Join(dir, "src"))
	assert.Contains(t, env, "NOTIFY_SOCKET=/run/x")
	assert.Contains(t, env, "LISTEN_FDS=2")
	assert.NotContains(t, r.stdout, "PYTHONHOME")

	// The command runs in the app directory, found in the virtualenv first.
	r = runapp(t, nil, "exec", "--app-dir", dir, "python", "pwd")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, dir+"\n", r.stdout)
}

func TestEnvMasksValues(t *testing.T) {
	dir := appDir(t, "SECRET_KEY='"+secret+"'\nDEBUG=1\nDEBUG=2\n")
	r := runapp(t, []string{"INHERITED=" + secret}, "env", "--app-dir", dir)
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, secret)
	venv := filepath.Join(dir, ".venv")
	for _, want := range []string{
		"program: " + venv + "/bin/gunicorn\n",
		"argv:    gunicorn project.wsgi\n",
		"dir:     " + dir + "\n",
		"venv:    " + venv + "\n",
		"DEBUG=***", "# .env:3, replaces .env:2",
		"SECRET_KEY=***", "# .env:1",
		"INHERITED=***", "# inherited",
		"PATH=" + venv + "/bin:***", "VIRTUAL_ENV=" + venv,
	} {
		assert.Contains(t, r.stdout, want)
	}
	// Sorted by name: stable output for diff and golden files.
	assert.Less(t, strings.Index(r.stdout, "DEBUG="), strings.Index(r.stdout, "INHERITED="))
	assert.Less(t, strings.Index(r.stdout, "PATH="), strings.Index(r.stdout, "SECRET_KEY="))

	r = runapp(t, nil, "env", "--show-values", "--app-dir", dir)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "SECRET_KEY="+secret)
	assert.Contains(t, r.stdout, "DEBUG=2")
}

func TestJournalPriorityPrefix(t *testing.T) {
	dir := appDir(t, "A=$B\n")
	errFile, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	require.NoError(t, err)
	defer errFile.Close()
	var st unix.Stat_t
	require.NoError(t, unix.Fstat(int(errFile.Fd()), &st))

	for _, tt := range []struct {
		stream string
		prefix string
	}{
		{fmt.Sprintf("%d:%d", st.Dev, st.Ino), "<3>runapp: "},
		{fmt.Sprintf("%d:%d", st.Dev, st.Ino+1), "runapp: "}, // another stream: plain
	} {
		require.NoError(t, errFile.Truncate(0))
		_, err = errFile.Seek(0, 0)
		require.NoError(t, err)
		cmd := exec.Command(os.Args[0], "--app-dir", dir)
		cmd.Env = []string{"RUNAPP_TEST_MAIN=1", "JOURNAL_STREAM=" + tt.stream}
		cmd.Stderr = errFile
		err = cmd.Run()
		require.Error(t, err)
		out, err := os.ReadFile(errFile.Name())
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(out), tt.prefix+filepath.Join(dir, ".env")+":1:"), "got %q", out)
	}
}

// TestNotifyStatusOnFailure: runapp tells systemd why it failed, in the
// unit's status text, on a path socket and an abstract one, and sends
// nothing else (never READY=1).
func TestNotifyStatusOnFailure(t *testing.T) {
	dir := appDir(t, "A=1\nB="+secret+"`x`\n")
	for name, addr := range map[string]string{
		"path":     filepath.Join(t.TempDir(), "notify"),
		"abstract": fmt.Sprintf("@runapp-test/%d/status", os.Getpid()),
	} {
		t.Run(name, func(t *testing.T) {
			sock := testenv.ListenNotify(t, addr)
			r := runapp(t, []string{"NOTIFY_SOCKET=" + sock.Addr}, "--app-dir", dir)
			assert.Equal(t, launcher.ExitConfig, r.code)

			n, ok := sock.Receive(t, 5*time.Second)
			require.True(t, ok, "no STATUS= on NOTIFY_SOCKET")
			assert.NotEqual(t, os.Getpid(), n.PID, "sent by the test, not runapp")
			assert.True(t, strings.HasPrefix(n.Msg, "STATUS=runapp: "+filepath.Join(dir, ".env")+":2: B:"), "got %q", n.Msg)
			assert.NotContains(t, n.Msg, "READY=1")
			assert.NotContains(t, n.Msg, secret)

			// Nothing else was sent: in particular never READY=1.
			_, more := sock.Receive(t, 100*time.Millisecond)
			assert.False(t, more)
		})
	}
}

// TestEnvShowValuesRoundTrip: with --show-values the environment lines are
// an env file runapp reads back to the plan's values; a value no env file
// runapp accepts can hold (one the readers cannot all read alike) is left
// out, with a comment, and no line is refused.
func TestEnvShowValuesRoundTrip(t *testing.T) {
	dir := appDir(t, "SECRET_KEY='"+secret+" $x'\nQ=\"it's\"\nM='a\nb'\n")
	inherited := map[string]string{
		"PLAIN":  "x",
		"SPACE":  "a b # c",
		"QUOTES": `it's "q" \ $5`, // no form python-dotenv reads alike: left out
		"EXPAND": "${HOME}",       // python-dotenv expands it in any quotes: left out
		"CTRL":   "a\x01b",        // no env file holds it
		"TRAIL":  `x\`,            // a final backslash: left out
		"BRACES": "${A:x} {b}",    // not a pattern python-dotenv expands
	}
	var env []string
	for k, v := range inherited {
		env = append(env, k+"="+v)
	}
	r := runapp(t, env, "env", "--show-values", "--app-dir", dir)
	require.Equal(t, 0, r.code, r.stderr)
	_, lines, ok := strings.Cut(r.stdout, "environment:\n")
	require.True(t, ok, r.stdout)
	f, err := envfile.Parse("env-output", []byte(lines))
	require.NoError(t, err, "runapp refuses what env --show-values calls an env file:\n%s", lines)
	got := map[string]string{}
	for _, e := range f.Entries {
		got[e.Name] = e.Value
	}
	want := map[string]string{"SECRET_KEY": secret + " $x", "Q": "it's", "M": "a\nb"}
	for k, v := range inherited {
		want[k] = v
	}
	for _, k := range []string{"CTRL", "QUOTES", "EXPAND", "TRAIL"} {
		delete(want, k)
		assert.NotContains(t, got, k)
		assert.Contains(t, lines, "# "+k+" is left out: ")
	}
	for k, v := range want {
		assert.Equal(t, v, got[k], k)
	}
}

// TestEnvironmentTooLarge: an environment execve would refuse (E2BIG) stops
// serve, env and check with exit 78, the sizes and the file to blame. The
// stack limit is lowered to 1 MiB, which lets execve pass 256 KiB.
func TestEnvironmentTooLarge(t *testing.T) {
	bash := testenv.LookPath(t, "bash")
	var env strings.Builder
	for i := range 3 {
		fmt.Fprintf(&env, "BIG%d=%s\n", i, strings.Repeat("x", 100<<10))
	}
	dir := appDir(t, env.String())
	for _, args := range [][]string{{"--app-dir", dir}, {"env", "--app-dir", dir}} {
		cmd := exec.Command(bash, append([]string{"-c", `ulimit -s 1024 && exec "$0" "$@"`, os.Args[0]}, args...)...)
		cmd.Env = []string{"RUNAPP_TEST_MAIN=1", "PATH=/usr/bin:/bin"}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "%s", out)
		assert.Equal(t, 78, ee.ExitCode(), "%s", out)
		assert.Contains(t, string(out), "Linux passes at most 256 KiB to a program")
		assert.Contains(t, string(out), ".env sets 300 KiB of it", "%s", out)
	}
}
