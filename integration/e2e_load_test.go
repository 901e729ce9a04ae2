package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/loadgen"
)

// e2eInstallLoadgen builds integration/loadgen static, as runapp is built,
// into root's /usr/local/bin.
func e2eInstallLoadgen(t *testing.T, root string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(root, "usr", "local", "bin", "loadgen"), "./integration/loadgen")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./integration/loadgen: %s", out)
}

// e2eLoadPaths are load.sh's measurements: a restart and a reload of a
// socket-activated unit (lsock) and of a unit whose server listens itself
// (ltcp).
var e2eLoadPaths = []struct {
	name, unit string
	restart    bool
	socket     bool
}{
	{"socket-restart", "lsock.service", true, true},
	{"socket-reload", "lsock.service", false, true},
	{"tcp-restart", "ltcp.service", true, false},
	{"tcp-reload", "ltcp.service", false, false},
}

// e2eLoadResult reads the loadgen result recorded as fact name.
func e2eLoadResult(t *testing.T, res e2eResults, name string) *loadgen.Result {
	t.Helper()
	var r loadgen.Result
	require.NoError(t, json.Unmarshal([]byte(res.read(t, name)), &r), name)
	return &r
}

// e2eLoad asserts on load.sh's measurements: with a socket, a restart fails
// no request; a reload never does; without a socket, a restart refuses
// connections, and how many and for how long is reported.
func e2eLoad(t *testing.T, res e2eResults) {
	for _, p := range e2eLoadPaths {
		t.Run(p.name, func(t *testing.T) {
			defer res.explain(t, p.unit, "lsock.socket")
			defer func() {
				if t.Failed() {
					res.dump(t, "load/"+p.name+".log", "load/trace")
				}
			}()
			r := e2eLoadResult(t, res, "load/"+p.name+".json")
			seconds := e2eSeconds(t, res.line(t, "load/"+p.name+".seconds"))
			t.Logf("%s (systemctl took %s): %s", p.name, seconds, r)
			assert.Equal(t, "0", res.line(t, "load/"+p.name+".rc"))
			show := res.show(t, "load/"+p.name+".show")
			assert.Equal(t, "active", show["ActiveState"])
			if p.socket {
				assert.Equal(t, "lsock.socket", show["TriggeredBy"], "runapp unit wrote no socket unit by default")
			} else {
				assert.Empty(t, show["TriggeredBy"])
			}
			pids := strings.Fields(res.read(t, "load/"+p.name+".pids"))
			require.Len(t, pids, 2)
			if p.restart {
				assert.NotEqual(t, pids[0], pids[1], "MainPID did not change")
			} else {
				assert.Equal(t, pids[0], pids[1], "MainPID changed")
			}
			assert.Greater(t, r.Requests, 100, "the load was too small to tell")
			assert.Greater(t, r.OK, 0)
			if p.restart && !p.socket {
				// Measured, not required: the figures go to BENCHMARKS.md.
				t.Logf("%s: %d of %d requests failed, from %.0f ms to %.0f ms into the load", p.name, r.Failed, r.Requests, r.FirstFailure, r.LastFailure)
				return
			}
			assert.Zero(t, r.Failed, "failed requests: %v %v", r.Failures, r.Errors)
		})
	}
}

// e2eDeploy asserts on runapp deploy's scenarios in load.sh, each run under
// the same load on ldep, a socket-activated unit: a code change reloads and
// serves the new code, a .env change restarts and serves the new value, a
// broken .env exits 78 and leaves the server alone; none fails a request.
func e2eDeploy(t *testing.T, res e2eResults) {
	scenario := func(t *testing.T, name string) (*loadgen.Result, []string, string) {
		t.Helper()
		r := e2eLoadResult(t, res, "deploy/"+name+".json")
		pids := strings.Fields(res.read(t, "deploy/"+name+".pids"))
		require.Len(t, pids, 2)
		out := res.read(t, "deploy/"+name+".out") + res.read(t, "deploy/"+name+".err")
		t.Logf("runapp deploy took %s:\n%s", e2eSeconds(t, res.line(t, "deploy/"+name+".seconds")), out)
		t.Logf("%s: %s", name, r)
		assert.Zero(t, r.Failed, "failed requests: %v %v", r.Failures, r.Errors)
		assert.Greater(t, r.Requests, 100, "the load was too small to tell")
		return r, pids, out
	}
	explain := func(t *testing.T) {
		res.explain(t, "ldep.service", "ldep.socket")
		if t.Failed() {
			res.dump(t, "load/trace")
		}
	}
	t.Run("code", func(t *testing.T) {
		defer explain(t)
		require.Equal(t, "1", res.line(t, "deploy/code.edited"), "the view was not edited")
		r, pids, out := scenario(t, "code")
		assert.Equal(t, "0", res.line(t, "deploy/code.rc"))
		assert.Contains(t, out, "ldep.service: reload: only code can have changed")
		assert.Contains(t, out, "reloaded in ")
		assert.Equal(t, pids[0], pids[1], "MainPID changed")
		assert.Greater(t, r.Matched, 0, "no answer from the new code during the load")
		assert.True(t, strings.HasPrefix(res.read(t, "deploy/code.pid-body"), "v2 "), "the new code does not serve")
	})
	t.Run("env", func(t *testing.T) {
		defer explain(t)
		dry := res.read(t, "deploy/env-dry.out")
		assert.Equal(t, "0", res.line(t, "deploy/env-dry.rc"))
		assert.Contains(t, dry, "would run: systemctl restart ldep.service")
		_, pids, out := scenario(t, "env")
		assert.Equal(t, "0", res.line(t, "deploy/env.rc"))
		assert.Contains(t, out, "ldep.service: restart: ")
		assert.Contains(t, out, "SITE_NAME changed (.env:")
		// check's warning, which deploy prints before it acts.
		assert.Contains(t, out, "systemctl reload keeps the old one")
		assert.NotContains(t, out+dry, "deployed site", "a value was printed")
		assert.Contains(t, out, "ldep.service serves again after ")
		assert.Contains(t, out, "it answers on 127.0.0.1:8097")
		assert.NotEqual(t, pids[0], pids[1], "MainPID did not change")
		got := e2eIndex(t, res, "deploy/env")
		require.NotNil(t, got.Env["SITE_NAME"])
		assert.Equal(t, "deployed site", *got.Env["SITE_NAME"], "the new value does not serve")
	})
	t.Run("broken", func(t *testing.T) {
		defer explain(t)
		_, pids, out := scenario(t, "broken")
		assert.Equal(t, "78", res.line(t, "deploy/broken.rc"))
		assert.Contains(t, out, "left untouched")
		assert.Contains(t, out, ".env:")
		assert.NotContains(t, out, e2eCanary(t))
		assert.Equal(t, pids[0], pids[1], "MainPID changed: the server was touched")
		assert.Equal(t, "200", res.line(t, "deploy/broken.code"))
	})
	t.Run("fail", func(t *testing.T) {
		defer explain(t)
		out := res.read(t, "deploy/fail.out")
		msg := res.read(t, "deploy/fail.err")
		t.Logf("runapp deploy:\n%s%s", out, msg)
		assert.Equal(t, "1", res.line(t, "deploy/fail.rc"))
		assert.Contains(t, out, "ldep.service: restart: the environment differs from the running server's: DJANGO_SETTINGS_MODULE added (.env:")
		// The pre-flight finds it before the restart (issue 18).
		assert.Contains(t, msg, "ldep.service left untouched, the old code serves on: the new code fails its pre-flight")
		assert.Contains(t, msg, "No module named 'nope'")
		assert.NotContains(t, out, "deploy: systemctl restart")
	})
	t.Run("no-socket", func(t *testing.T) {
		defer explain(t)
		out := res.read(t, "deploy/tcp-dry.out")
		assert.Equal(t, "0", res.line(t, "deploy/tcp-dry.rc"), res.read(t, "deploy/tcp-dry.err"))
		assert.Contains(t, out, "ltcp.service has no socket unit")
		assert.Contains(t, out, "would run: systemctl restart ltcp.service")
	})
}
