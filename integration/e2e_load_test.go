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
