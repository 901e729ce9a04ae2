package deploy

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/server"
)

// preload says whether the planned gunicorn loads the application in its
// master process before forking workers (preload_app), so that a HUP forks
// workers with the code already loaded: the old code. gunicorn reads its
// configuration file, then GUNICORN_CMD_ARGS, then its command line, a
// later one winning; a value check cannot read counts as off.
func preload(plan *launcher.Plan) bool {
	if srv := server.Lookup(plan.Program); srv == nil || srv.Name != "gunicorn" || len(plan.Argv) == 0 {
		return false
	}
	cli, _, _ := server.ParseGunicornArgs(plan.Argv[1:])
	var env map[string][]string
	if v, ok := plan.Lookup("GUNICORN_CMD_ARGS"); ok {
		if words, err := server.SplitGunicornCmdArgs(v.Value); err == nil {
			env, _, _ = server.ParseGunicornArgs(words)
		}
	}
	last := func(m map[string][]string, name string) (string, bool) {
		v := m[name]
		if len(v) == 0 {
			return "", false
		}
		return v[len(v)-1], true
	}
	for _, m := range []map[string][]string{cli, env} {
		if v, ok := last(m, "preload_app"); ok {
			return server.GunicornTrue(v)
		}
	}
	conf := "gunicorn.conf.py"
	for _, m := range []map[string][]string{cli, env} {
		if v, ok := last(m, "config"); ok {
			conf = v
			break
		}
	}
	if strings.HasPrefix(conf, "python:") {
		return false
	}
	if !filepath.IsAbs(conf) {
		conf = filepath.Join(plan.Dir, conf)
	}
	data, err := os.ReadFile(conf)
	if err != nil {
		return false
	}
	s, ok := server.GunicornConf(data)["preload_app"]
	return ok && s.Known && len(s.Values) > 0 && server.GunicornTrue(s.Values[len(s.Values)-1])
}
