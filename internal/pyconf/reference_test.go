package pyconf

// A differential test: what this package reads without running Python is
// compared with what Python's own parser reads as a literal.

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/runapp/runapp/internal/testenv"
)

func TestParseMatchesPython(t *testing.T) {
	conf := `# gunicorn.conf.py
import multiprocessing
import os

bind = ["127.0.0.1:8000", 'unix:/run/app.sock']
workers = multiprocessing.cpu_count() * 2 + 1
daemon = True
pidfile = None
graceful_timeout = 1_20
timeout = 30.5
wsgi_app = "project.wsgi:application"  # the app
accesslog = '-'
proc_name = "it's"
raw_env = (
    "A=1",  # first
    "B=2",
)
loglevel = os.environ.get("LOG_LEVEL", "info")
errorlog = "a" "b"
chdir = r"/srv/app"
if os.environ.get("DEBUG"):
    reload = True
def on_starting(server):
    daemon = False
user = 'www' + '-data'
umask = 0o22
preload_app = False
preload_app = not preload_app
backlog == 3
`
	var ref map[string]any
	testenv.PythonJSON(t, &ref, `
import ast, json, sys
out = {}
for node in ast.parse(sys.argv[1]).body:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        try:
            v = ast.literal_eval(node.value)
            if isinstance(v, tuple):
                v = list(v)
            out[node.targets[0].id] = v if isinstance(v, list) else ("None" if v is None else str(v))
        except ValueError:
            out[node.targets[0].id] = {"unknown": True}
print(json.dumps(out))
`, conf)
	got := Parse([]byte(conf))
	var names []string
	for name := range ref {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v, ok := got[name]
		if !assert.True(t, ok, name) {
			continue
		}
		switch want := ref[name].(type) {
		case map[string]any:
			// Python cannot read it as a literal either; a literal this
			// package misses (r"", "a" "b", 0o22) is only unknown, which
			// the caller reports as such: never a wrong value.
			assert.False(t, v.Known && !v.IsSeq && v.Str != "", "%s: Python cannot read it as a literal, pyconf read %q", name, v.Str)
		case []any:
			assert.True(t, v.Known && v.IsSeq, name)
			assert.Equal(t, fmt.Sprint(want), fmt.Sprint(v.List), name)
		case string:
			if name == "chdir" || name == "errorlog" || name == "umask" {
				assert.False(t, v.Known, "%s is read as unknown", name)
				continue
			}
			assert.True(t, v.Known, name)
			want = strings.TrimSuffix(want, ".0")
			assert.Equal(t, want, v.Str, name)
		}
	}
	for name := range got {
		assert.Contains(t, ref, name, "%s is not a top-level assignment", name)
	}
	assert.Equal(t, 7, got["daemon"].Line)
}
