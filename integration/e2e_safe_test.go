package integration

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// e2eSafe judges what e2e/safe.sh recorded (issue 18): runapp deploy of
// new code under load, on three socket-activated apps (Django and Flask
// under gunicorn, whose deploy is a reload; FastAPI under uvicorn, whose
// deploy is a restart).
func e2eSafe(t *testing.T, res e2eResults) {
	require.Equal(t, "ok", res.line(t, "safe/done"), "safe.sh did not finish")
	for _, app := range []struct{ name, module string }{
		// What the traceback of the module that raises shows.
		{"sdj", "project/views.py"},
		{"sapi", "api.py"},
		{"sfl", "web.py"},
	} {
		t.Run(app.name, func(t *testing.T) {
			defer res.explain(t, app.name+".service", app.name+".socket")
			defer func() {
				if t.Failed() {
					res.dump(t, "safe-trace")
				}
			}()
			// scenario reads one deploy's facts: its output, the MainPIDs
			// before and after, what /pid answers afterwards; and asserts
			// that the load on /pid lost no request, but in the unhealthy
			// scenario, which is about deploy's verdict, and where uvicorn
			// stopped. uvicorn 0.17's graceful stop closes the connections
			// it has accepted and not read yet (httptools_impl's shutdown,
			// with no request cycle), which resets them or closes them
			// unanswered: behind a socket held as systemd holds it, 3 of 20
			// restarts under this load lost 1 to 4 requests, and 2 of 20
			// gunicorn reloads of uvicorn's worker class 2 and 5 (README,
			// Deploying). There, those are allowed, one per client at
			// most, and nothing else.
			scenario := func(t *testing.T, name string) (out, msg, rc string, pids []string, body string) {
				t.Helper()
				f := "safe/" + app.name + "/" + name
				out, msg = res.read(t, f+".out"), res.read(t, f+".err")
				t.Logf("runapp deploy took %s:\n%s%s", e2eSeconds(t, res.line(t, f+".seconds")), out, msg)
				r := e2eLoadResult(t, res, f+".json")
				t.Logf("%s: %s", name, r)
				pids = strings.Fields(res.read(t, f+".pids"))
				require.Len(t, pids, 2)
				switch {
				case name == "unhealthy":
				case app.name == "sapi" && pids[0] != pids[1]:
					assert.Equal(t, r.Failed, r.Failures["reset"]+r.Failures["closed"], "failed requests but resets and closes: %v %v", r.Failures, r.Errors)
					assert.LessOrEqual(t, r.Failed, r.Clients, "more lost than clients: %v", r.Errors)
				default:
					assert.Zero(t, r.Failed, "failed requests: %v %v", r.Failures, r.Errors)
				}
				assert.Greater(t, r.Requests, 100, "the load was too small to tell")
				return out, msg, res.line(t, f+".rc"), pids, res.read(t, f+".pid-body")
			}
			t.Run("broken", func(t *testing.T) {
				out, msg, rc, pids, body := scenario(t, "broken")
				assert.Equal(t, "1", rc)
				assert.Contains(t, msg, app.name+".service left untouched, the old code serves on: the new code fails its pre-flight")
				assert.Contains(t, msg, "the application does not load")
				assert.Contains(t, msg, app.module+`", line `)
				assert.Contains(t, msg, "RuntimeError: broken at import")
				assert.NotContains(t, out, "systemctl reload")
				assert.NotContains(t, out, "systemctl restart")
				assert.Equal(t, pids[0], pids[1], "MainPID changed: the server was touched")
				assert.True(t, strings.HasPrefix(body, "v1 ") || app.name == "sdj" && !strings.HasPrefix(body, "v"), "the old code does not serve: %q", body)
			})
			t.Run("unhealthy", func(t *testing.T) {
				out, msg, rc, pids, body := scenario(t, "unhealthy")
				assert.Equal(t, "1", rc)
				assert.Contains(t, out, "deploy: pre-flight: ", "the pre-flight, in its own /tmp, passed")
				assert.Contains(t, msg, "it answers GET / with 500")
				assert.Contains(t, msg, "the new code serves, and fails GET /: fix it and deploy again")
				assert.Contains(t, msg, "is now active")
				if app.name != "sdj" {
					// Django logs a view's exception only with DEBUG on.
					assert.Contains(t, msg, "RuntimeError: unhealthy: the server has the marker", "the journal's lines")
				}
				assert.Equal(t, "500", res.line(t, "safe/"+app.name+"/unhealthy.code"))
				assert.True(t, strings.HasPrefix(body, "v3 "), "the new code does not serve: %q", body)
				if app.name == "sapi" {
					assert.NotEqual(t, pids[0], pids[1], "uvicorn was not restarted")
				} else {
					assert.Equal(t, pids[0], pids[1], "MainPID changed: not a reload")
				}
			})
			t.Run("good", func(t *testing.T) {
				out, _, rc, _, body := scenario(t, "good")
				assert.Equal(t, "0", rc)
				// The FastAPI and Flask apps refuse to import as root or
				// without the .env, and Django's settings without its
				// SECRET_KEY: the pre-flight ran as the service runs.
				assert.Contains(t, out, "deploy: pre-flight: ")
				assert.True(t, strings.HasPrefix(body, "v4 "), "the new code does not serve: %q", body)
				note := "deploy: note: uvicorn's graceful stop closes, unanswered, the connections it has accepted and not read a request from yet"
				if app.name == "sapi" {
					assert.Contains(t, out, note)
				} else {
					assert.NotContains(t, out, "deploy: note: ")
				}
			})
			procfile := "/srv/" + app.name + "/Procfile"
			t.Run("release-fail", func(t *testing.T) {
				out, msg, rc, pids, body := scenario(t, "release-fail")
				assert.Equal(t, "1", rc)
				assert.Contains(t, out, "release: the migration failed\n", "the release's output")
				assert.Contains(t, msg, app.name+".service left untouched, the old code serves on: the release command ("+procfile+":1) failed after ")
				assert.Contains(t, msg, "exit status 3")
				assert.NotContains(t, out, "deploy: systemctl")
				assert.Equal(t, pids[0], pids[1], "MainPID changed: the server was touched")
				assert.True(t, strings.HasPrefix(body, "v4 "), "the old code does not serve: %q", body)
			})
			t.Run("release", func(t *testing.T) {
				out, _, rc, _, body := scenario(t, "release")
				assert.Equal(t, "0", rc)
				started := strings.Index(out, "deploy: release: running python release.py ("+procfile+":2) as "+app.name+".service runs, in runapp-release-"+app.name+"-")
				done := strings.Index(out, "release: done as "+app.name+"\n")
				switched := strings.Index(out, "deploy: systemctl ")
				require.True(t, started >= 0 && done >= 0 && switched >= 0, "release %d, its output %d, the switch %d", started, done, switched)
				assert.Less(t, started, done)
				assert.Less(t, done, switched, "the release ran after the switch")
				assert.True(t, strings.HasPrefix(body, "v6 "), "the new code does not serve: %q", body)
				// Who ran it, when, and the .env's SITE_NAME it saw.
				f := strings.SplitN(res.line(t, "safe/"+app.name+"/release.file"), " ", 3)
				require.Len(t, f, 3)
				assert.Equal(t, app.name, f[0], "not run as the service user")
				assert.Equal(t, "runapp example site", f[2], "not the app's .env value")
				journal := res.read(t, "safe/"+app.name+"/release.journal")
				assert.Contains(t, journal, "release: done as "+app.name, "not in the unit's journal")
				assert.Contains(t, journal, "release: the migration failed")
				dry := res.read(t, "safe/"+app.name+"/release-dry.out")
				assert.Equal(t, "0", res.line(t, "safe/"+app.name+"/release-dry.rc"), dry)
				assert.Contains(t, dry, "would run the release command ("+procfile+":2) as "+app.name+".service runs: python release.py")
				assert.Contains(t, res.read(t, "safe/"+app.name+"/no-release.out"), "release: "+procfile+":2 skipped (--no-release)")
			})
		})
	}
	t.Run("two-at-once", func(t *testing.T) {
		defer res.explain(t, "sdj.service")
		for _, d := range []string{"first", "second", "third"} {
			t.Logf("%s deploy:\n%s%s", d, res.read(t, "safe/sdj/two/"+d+".out"), res.read(t, "safe/sdj/two/"+d+".err"))
		}
		assert.Equal(t, "0", res.line(t, "safe/sdj/two/first.rc"))
		assert.Equal(t, "0", res.line(t, "safe/sdj/two/second.rc"))
		second := res.read(t, "safe/sdj/two/second.out")
		assert.Contains(t, second, "of sdj.service is running; waiting for it to finish")
		// It waited before it checked anything: the first deploy's reload
		// was over by then.
		assert.Less(t, strings.Index(second, "waiting"), strings.Index(second, "check: "))
		assert.Equal(t, "1", res.line(t, "safe/sdj/two/third.rc"))
		assert.Contains(t, res.read(t, "safe/sdj/two/third.err"), "another deploy of sdj.service held /run/lock/runapp-deploy-sdj.lock for the whole --timeout")
		assert.True(t, strings.HasPrefix(res.read(t, "safe/sdj/two/pid-body"), "v7 "))
	})
}
