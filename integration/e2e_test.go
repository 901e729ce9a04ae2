package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/envfile"
	"github.com/runapp/runapp/internal/testenv"
	"github.com/runapp/runapp/unitfile"
)

// TestE2E proves runapp's promises under a real, booted systemd 252: it
// boots a Debian root once with every scenario's units installed (see
// e2e/setup.sh), lets e2e/check.sh drive them from inside, and asserts here
// on what the checker recorded.
func TestE2E(t *testing.T) {
	testenv.Root(t)
	nspawn := testenv.LookPath(t, "systemd-nspawn")
	testenv.LookPath(t, "debootstrap")
	deb := needDeb(t)
	start := time.Now()

	root := e2eOverlay(t, e2eRoot(t))
	e2eInstall(t, root, deb)
	e2eSetup(t, nspawn, root)
	res := e2eBoot(t, nspawn, root)
	t.Logf("in the container: %s", res.line(t, "boot-time"))
	// setup.sh gives the apps the example app's .env.
	env := envValues(t, filepath.Join(repoRoot, "example", ".env"))

	t.Run("install", func(t *testing.T) {
		assert.Regexp(t, `^install ok installed \S+\n$`, res.read(t, "install/status"))
		files := strings.Fields(res.read(t, "install/files"))
		assert.Contains(t, files, "/usr/bin/runapp")
		assert.Contains(t, files, "/usr/share/doc/runapp/copyright")
		// The units name the packaged binary, as runapp unit wrote them.
		for _, unit := range []string{"serve/shop.show", "secrets/vault.show"} {
			assert.Contains(t, res.show(t, unit)["ExecStart"], "path=/usr/bin/runapp ;", unit)
		}
	})

	served := t.Run("serve", func(t *testing.T) {
		defer res.explain(t, "shop.service")
		show := res.show(t, "serve/shop.show")
		assert.Equal(t, "active", show["ActiveState"])
		assert.Equal(t, "running", show["SubState"])
		main := show["MainPID"]

		// Every process in the unit is gunicorn: the master is the
		// MainPID systemd watches, the rest are its workers. No runapp
		// and no shell stayed behind.
		procs := e2eProcs(t, res.read(t, "serve/procs"))
		require.NotEmpty(t, procs)
		var workers int
		for _, p := range procs {
			assert.Contains(t, p.cmdline, "/srv/shop/.venv/bin/gunicorn", "process %s", p.pid)
			assert.NotEqual(t, "runapp", p.comm, "process %s", p.pid)
			assert.NotRegexp(t, `/(ba|da)?sh$`, p.exe, "process %s", p.pid)
			assert.NotEqual(t, "0", p.uid, "process %s runs as root", p.pid)
			if p.pid == main {
				assert.Equal(t, "gunicorn", p.comm)
			} else {
				assert.Equal(t, main, p.ppid, "process %s is not a worker of the master", p.pid)
				workers++
			}
		}
		assert.Equal(t, 2, workers)
		// Port 80 as a non-root user: through the ambient capability.
		status := statusFields(res.read(t, "serve/status"))
		uid := strings.Fields(status["Uid"])
		require.NotEmpty(t, uid, "no Uid in serve/status")
		assert.NotEqual(t, "0", uid[0])
		assert.True(t, e2eHasCap(t, status["CapAmb"], 10), "CAP_NET_BIND_SERVICE not ambient: %s", status["CapAmb"])

		got := e2eIndex(t, res, "serve/index")
		assertEnv(t, env, got)
		assert.Equal(t, "/srv/shop/.venv", got.VirtualEnv)
		assert.Equal(t, "/srv/shop/.venv", got.SysPrefix)
		assert.Equal(t, "/srv/shop/src", got.PythonPath)
		assert.Equal(t, main, strconv.Itoa(got.PPID), "the view ran in a worker of MainPID")
	})

	t.Run("readiness", func(t *testing.T) {
		defer res.explain(t, "shop.service", "ready.service")
		shop := res.show(t, "serve/shop.show")
		assert.Equal(t, "notify", shop["Type"])
		assert.Equal(t, "main", shop["NotifyAccess"])
		assert.Equal(t, "Gunicorn arbiter booted", shop["StatusText"])

		// ready.service's gunicorn sleeps 3 s before READY=1 (slowstart.py):
		// systemd must not call it active before that.
		assert.Equal(t, "activating", res.show(t, "readiness/during.show")["ActiveState"], "one second after start")
		ready := res.show(t, "readiness/ready.show")
		assert.Equal(t, "active", ready["ActiveState"])
		assert.Equal(t, "Gunicorn arbiter booted", ready["StatusText"])
		wait := e2eMicros(t, ready["ActiveEnterTimestampMonotonic"]) - e2eMicros(t, ready["ExecMainStartTimestampMonotonic"])
		t.Logf("ready.service: exec to active in %s", wait)
		assert.GreaterOrEqual(t, wait, 3*time.Second)
		assert.Equal(t, "200", res.line(t, "readiness/index.code"))
	})

	t.Run("reload", func(t *testing.T) {
		defer res.explain(t, "shop.service")
		before := strings.Fields(res.read(t, "reload/before"))
		after := strings.Fields(res.read(t, "reload/after"))
		assert.Equal(t, "0", res.line(t, "reload/rc"))
		assert.Len(t, before, 2)
		assert.Len(t, after, len(before))
		for _, pid := range after {
			assert.NotContains(t, before, pid, "worker survived the reload")
		}
		show := res.show(t, "reload/shop.show")
		assert.Equal(t, res.show(t, "serve/shop.show")["MainPID"], show["MainPID"], "MainPID changed")
		assert.Equal(t, "active", show["ActiveState"])
	})

	t.Run("stop", func(t *testing.T) {
		defer res.explain(t, "shop.service")
		assert.Equal(t, "200", res.line(t, "stop/slow.code"), "the request in flight did not complete")
		assert.Contains(t, res.read(t, "stop/slow.body"), `"slept": 5.0`)
		stop := e2eSeconds(t, res.line(t, "stop/stop-seconds"))
		request := e2eSeconds(t, res.line(t, "stop/slow.time"))
		t.Logf("systemctl stop took %s during a %s request", stop, request)
		// It waited for the request, and no longer: no stop timeout.
		assert.Greater(t, stop, time.Second)
		assert.Less(t, stop, request+time.Second)
		show := res.show(t, "stop/shop.show")
		assert.Equal(t, "inactive", show["ActiveState"])
		assert.Equal(t, "success", show["Result"])
		assert.Equal(t, "0", show["ExecMainStatus"])
	})

	t.Run("asgi", func(t *testing.T) { e2eASGI(t, res) })
	t.Run("procs", func(t *testing.T) { e2eProcfile(t, res) })

	t.Run("socket", func(t *testing.T) {
		defer res.explain(t, "sock.socket", "sock.service")
		atBoot := res.read(t, "socket/at-boot.show")
		assert.Contains(t, atBoot, "Id=sock.socket\nActiveState=active\nSubState=listening\n")
		assert.Contains(t, atBoot, "Id=sock.service\nActiveState=inactive\n")
		assert.Equal(t, "200", res.line(t, "socket/index.code"))
		show := res.show(t, "socket/sock.show")
		assert.Equal(t, "active", show["ActiveState"])
		// One listening socket, held by systemd (PID 1) and gunicorn.
		ss := res.read(t, "socket/ss")
		assert.Equal(t, 1, strings.Count(ss, "\n"), "ss: %s", ss)
		assert.Contains(t, ss, "pid=1,")
		assert.Contains(t, ss, "pid="+show["MainPID"]+",")
		status := statusFields(res.read(t, "socket/status"))
		assert.Empty(t, show["AmbientCapabilities"])
		assert.Equal(t, "0000000000000000", status["CapEff"])
		assert.Equal(t, "0000000000000000", status["CapAmb"])
	})

	t.Run("broken", func(t *testing.T) {
		defer res.explain(t, "broken.service")
		canary := e2eCanary(t)
		show := res.show(t, "broken/broken.show")
		assert.Equal(t, "failed", show["ActiveState"])
		assert.Equal(t, "exit-code", show["Result"])
		assert.Equal(t, "78", show["ExecMainStatus"])
		assert.Equal(t, "0", show["NRestarts"], "restarted despite exit status 78")
		journal := res.read(t, "broken/journal-err")
		for what, text := range map[string]string{"journal at priority err": journal, "StatusText": show["StatusText"]} {
			assert.Contains(t, text, "/srv/broken/.env:4", what)
			assert.NotContains(t, text, canary, what)
		}
		assert.Equal(t, "0", res.line(t, "broken/canary-count"), "the refused value is in the journal")
	})

	t.Run("secrets", func(t *testing.T) {
		defer res.explain(t, "vault.service")
		show := res.show(t, "secrets/vault.show")
		assert.Equal(t, "active", show["ActiveState"])
		// runapp read the copy systemd made for the service, not the file.
		assert.Contains(t, show["ExecStart"], "--env-file /run/credentials/vault.service/")
		assert.Equal(t, "root:root 600", res.line(t, "secrets/stat"))
		assert.NotEqual(t, "0", res.line(t, "secrets/read.rc"), "the service user can read the env file")
		assert.Contains(t, res.read(t, "secrets/read.err"), "Permission denied")
		assertEnv(t, env, e2eIndex(t, res, "secrets/index"))
	})

	t.Run("parity", func(t *testing.T) {
		for _, f := range e2eCorpus(t) {
			name := strings.TrimSuffix(filepath.Base(f), ".env")
			t.Run(name, func(t *testing.T) {
				file, err := envfile.Read(f)
				require.NoError(t, err)
				sd := e2eEnv0(res.read(t, "parity/"+name+".systemd"))
				ra := e2eEnv0(res.read(t, "parity/"+name+".runapp"))
				if !assert.NotEmpty(t, ra, "runapp exec printed nothing") {
					res.dump(t, "parity/"+name+".runapp-err")
				}
				for _, e := range file.Entries {
					assert.Contains(t, sd, e.Name, "systemd did not set %s (line %d)", e.Name, e.Line)
				}
				// Each unit has its own invocation; everything else must match.
				for _, own := range []string{"INVOCATION_ID", "SYSTEMD_EXEC_PID"} {
					delete(sd, own)
					delete(ra, own)
				}
				assert.Equal(t, sd, ra, "EnvironmentFile= (expected) vs runapp exec (actual)")
			})
		}
	})

	t.Run("sandbox", func(t *testing.T) {
		defer res.explain(t, "shop.service")
		security := res.read(t, "sandbox/security")
		m := regexp.MustCompile(`Overall exposure level for shop\.service: (\d+\.\d+)`).FindStringSubmatch(security)
		require.NotNil(t, m, "no score in:\n%s", security)
		score, err := strconv.ParseFloat(m[1], 64)
		require.NoError(t, err)
		t.Logf("systemd-analyze security shop.service: %.1f", score)
		assert.LessOrEqual(t, score, 2.0, "\n%s", security)
		assert.True(t, served, "serve failed under this unit")
	})

	t.Run("unitfile", func(t *testing.T) {
		// runapp check reads units with unitfile: the files it reads are
		// those systemctl cat shows, in the same order.
		defer res.explain(t, "shop.service")
		var path []string
		for _, d := range unitfile.SystemPath() {
			path = append(path, filepath.Join(root, d))
		}
		u, err := unitfile.Load("shop.service", path)
		require.NoError(t, err)
		var files []string
		for _, f := range append([]string{u.Fragment}, u.DropIns...) {
			files = append(files, strings.TrimPrefix(f, root))
		}
		var shown []string
		for _, m := range regexp.MustCompile(`(?m)^# (/\S+)$`).FindAllStringSubmatch(res.read(t, "units/shop.service.cat"), -1) {
			shown = append(shown, m[1])
		}
		assert.Equal(t, shown, files)
		assert.Equal(t, []string{
			"/etc/systemd/system/shop.service",
			"/usr/lib/systemd/system/shop.service.d/40-e2e.conf",
			"/etc/systemd/system/shop.service.d/50-e2e.conf",
			"/etc/systemd/system/service.d/60-e2e.conf",
		}, files, "setup.sh's drop-ins")
		// One ExecStart= in effect, the drop-in's, and the command systemd runs.
		exec := u.List("Service", "ExecStart")
		require.Len(t, exec, 1)
		assert.Equal(t, "40-e2e.conf", filepath.Base(exec[0].File))
		argv, _, err := u.Command()
		require.NoError(t, err)
		assert.Contains(t, res.show(t, "serve/shop.show")["ExecStart"], "argv[]="+strings.Join(argv, " ")+" ;")
	})

	t.Run("entrypoint", func(t *testing.T) {
		// No unit here: runapp's and gunicorn's output is the diagnostic.
		defer func() {
			if t.Failed() {
				res.dump(t, "entrypoint.log")
			}
		}()
		nspid := strings.Fields(res.read(t, "entrypoint/nspid"))
		require.NotEmpty(t, nspid, "no NSpid line recorded")
		assert.Equal(t, "1", nspid[len(nspid)-1], "not PID 1 of its namespace: %v", nspid)
		assert.Contains(t, res.read(t, "entrypoint/cmdline"), "/srv/shop/.venv/bin/gunicorn")
		assert.Equal(t, "200", res.line(t, "entrypoint/slow.code"), "the request in flight did not complete")
		assert.Equal(t, "0", res.line(t, "entrypoint/rc"))
		t.Logf("SIGTERM to PID 1 stopped gunicorn in %s", e2eSeconds(t, res.line(t, "entrypoint/stop-seconds")))
	})

	t.Run("load", func(t *testing.T) { e2eLoad(t, res) })
	t.Run("deploy", func(t *testing.T) { e2eDeploy(t, res) })
	t.Run("safe", func(t *testing.T) { e2eSafe(t, res) })
	t.Run("idem", func(t *testing.T) { e2eIdem(t, res) })

	t.Logf("the whole end-to-end suite took %s", time.Since(start).Round(time.Millisecond))
}

// e2eProc is one line of check.sh's procs output.
type e2eProc struct{ pid, ppid, uid, comm, exe, cmdline string }

func e2eProcs(t *testing.T, s string) []e2eProc {
	t.Helper()
	var procs []e2eProc
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		f := strings.SplitN(line, "\t", 6)
		require.Len(t, f, 6, "procs line %q", line)
		procs = append(procs, e2eProc{f[0], f[1], f[2], f[3], f[4], f[5]})
	}
	return procs
}

// e2eHasCap says whether the hex capability mask holds capability number c.
func e2eHasCap(t *testing.T, mask string, c uint) bool {
	t.Helper()
	n, err := strconv.ParseUint(mask, 16, 64)
	require.NoError(t, err, "capability mask %q", mask)
	return n&(1<<c) != 0
}

// e2eMicros parses a systemd monotonic timestamp in microseconds.
func e2eMicros(t *testing.T, s string) time.Duration {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err, "timestamp %q", s)
	return time.Duration(n) * time.Microsecond
}

// e2eSeconds parses a decimal number of seconds.
func e2eSeconds(t *testing.T, s string) time.Duration {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err, "seconds %q", s)
	return time.Duration(f * float64(time.Second)).Round(time.Millisecond)
}

// e2eEnv0 parses `env -0` output.
func e2eEnv0(s string) map[string]string {
	env := map[string]string{}
	for _, kv := range strings.Split(s, "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// e2eIndex decodes the example view's answer recorded under name.
func e2eIndex(t *testing.T, res e2eResults, name string) index {
	t.Helper()
	require.Equal(t, "200", res.line(t, name+".code"), "GET: %s", res.read(t, name+".body"))
	var got index
	require.NoError(t, json.Unmarshal([]byte(res.read(t, name+".body")), &got))
	return got
}

// e2eCanary is the value broken.env's refused line holds: it must not appear
// in anything runapp says.
func e2eCanary(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "integration", "e2e", "broken.env"))
	require.NoError(t, err)
	_, after, ok := bytes.Cut(data, []byte("\nDB_PASSWORD="))
	require.True(t, ok, "broken.env has no DB_PASSWORD line")
	return string(bytes.TrimSpace(after))
}
