package integration

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// e2eIdem judges what e2e/idem.sh recorded (issue 20): right after a
// deploy, a second deploy with nothing changed never restarts, whatever
// sets the service's environment or its reload (each step adds one way to
// the unit), and a template instance deploys with its specifiers
// expanded; a real change still restarts, with its true reason.
func e2eIdem(t *testing.T, res e2eResults) {
	require.Equal(t, "ok", res.line(t, "idem/done"), "idem.sh did not finish")
	steps := strings.Fields(res.read(t, "idem/steps"))
	require.Equal(t, []string{"start", "dollar", "set-environment", "environment-file", "unset", "pass",
		"kill-s-hup", "kill-sighup", "change", "template"}, steps)
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			unit := "idem.service"
			if step == "template" {
				unit = "tpl@dep.service"
			}
			defer res.explain(t, unit)
			defer func() {
				if t.Failed() {
					res.dump(t, "idem-trace")
				}
			}()
			first := res.read(t, "idem/"+step+".first.out") + res.read(t, "idem/"+step+".first.err")
			second := res.read(t, "idem/"+step+".second.out") + res.read(t, "idem/"+step+".second.err")
			t.Logf("first deploy:\n%s\nsecond deploy:\n%s", first, second)
			assert.Equal(t, "0", res.line(t, "idem/"+step+".first.rc"))
			assert.Equal(t, "0", res.line(t, "idem/"+step+".second.rc"))
			assert.Contains(t, second, unit+": reload: only code can have changed")
			assert.NotContains(t, second, ": restart:")
			pids := strings.Fields(res.read(t, "idem/"+step+".pids"))
			require.Len(t, pids, 2)
			assert.Equal(t, pids[0], pids[1], "the second deploy restarted the server")
			assert.NotContains(t, first+second, "changed site", "a value was printed")
			switch step {
			case "change":
				assert.Contains(t, first, unit+": restart: the environment differs from the running server's: SITE_NAME changed (.env:")
				assert.NotContains(t, first, "inherited", "a reason that is not true")
			case "template":
				show := res.show(t, "idem/template.show")
				assert.Equal(t, "dep", show["User"])
				assert.Contains(t, show["ExecStart"], "--app-dir /srv/dep ")
				assert.Contains(t, first, "/etc/systemd/system/tpl@.service")
			}
		})
	}
	// check reads the service as deploy does: right after the last deploy,
	// nothing is pending, and gunicorn's ExecReload= is no drift.
	t.Run("check", func(t *testing.T) {
		var report struct {
			Problems []struct{ Check, Where, Message string }
		}
		require.NoError(t, json.Unmarshal([]byte(res.read(t, "idem/check.json")), &report), res.read(t, "idem/check.err"))
		for _, p := range report.Problems {
			t.Logf("runapp check: %s %s %s", p.Check, p.Where, p.Message)
			assert.NotEqual(t, "unit.env_pending", p.Check, p.Message)
			assert.NotContains(t, p.Message, "ExecReload=", p.Message)
		}
	})
}
