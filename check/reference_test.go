package check

// Differential tests: what this package reads without running gunicorn,
// Python or systemd is compared with what they read themselves.

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
)

func TestSplitShellMatchesShlex(t *testing.T) {
	inputs := []string{
		`--bind :80 --daemon`,
		`  --log-level   debug  `,
		`--access-logformat '%(h)s %(r)s' -b "0.0.0.0:80"`,
		`a\ b "c\"d" 'e\f' "g\\h" "i\$j" "k\l"`,
		`x"y"z 'a'"b"c`,
		``,
		"tab\tsep\nnewline",
	}
	var ref [][]string
	testenv.PythonJSON(t, &ref, `
import json, shlex, sys
print(json.dumps([shlex.split(s) for s in sys.argv[1:]]))
`, inputs...)
	for i, in := range inputs {
		got, err := splitShell(in)
		require.NoError(t, err, in)
		if len(ref[i]) == 0 {
			assert.Empty(t, got, in)
			continue
		}
		assert.Equal(t, ref[i], got, "%q", in)
	}
	for _, bad := range []string{`'open`, `"open`} {
		_, err := splitShell(bad)
		assert.Error(t, err, bad)
	}
}

func TestParsePyConfMatchesPython(t *testing.T) {
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
	got := parsePyConf([]byte(conf))
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
			// check reports as such: never a wrong value.
			assert.False(t, v.known && !v.isSeq && v.str != "", "%s: Python cannot read it as a literal, check read %q", name, v.str)
		case []any:
			assert.True(t, v.known && v.isSeq, name)
			assert.Equal(t, fmt.Sprint(want), fmt.Sprint(v.list), name)
		case string:
			if name == "chdir" || name == "errorlog" || name == "umask" {
				assert.False(t, v.known, "%s is read as unknown", name)
				continue
			}
			assert.True(t, v.known, name)
			want = strings.TrimSuffix(want, ".0")
			assert.Equal(t, want, v.str, name)
		}
	}
	for name := range got {
		assert.Contains(t, ref, name, "%s is not a top-level assignment", name)
	}
	assert.Equal(t, 7, got["daemon"].line)
}

func TestLastCommand(t *testing.T) {
	tests := []struct {
		script, last string
		line         int
	}{
		{"#!/bin/bash\nset -a\nsource .env\nexec gunicorn x\n", "exec gunicorn x", 4},
		{"#!/bin/sh\nexec \\\n  gunicorn x\n# end\n\n", "exec    gunicorn x", 2},
		{"#!/bin/sh\ncd /srv && gunicorn x;\n", "gunicorn x", 2},
		{"#!/bin/sh\nif true; then\n  exec gunicorn\nfi\n", "", 0},
	}
	for _, tt := range tests {
		last, line := lastCommand(tt.script)
		assert.Equal(t, tt.last, last, tt.script)
		assert.Equal(t, tt.line, line, tt.script)
	}
}

func TestBindPort(t *testing.T) {
	tests := map[string]int{"0.0.0.0:80": 80, ":443": 443, "[::]:8443": 8443, "localhost": 8000, "[::1]": 8000, "unix:/run/a.sock": -1, "fd://3": -1}
	for b, want := range tests {
		port, ok := bindPort(b)
		if want < 0 {
			assert.False(t, ok, b)
			continue
		}
		assert.True(t, ok, b)
		assert.Equal(t, want, port, b)
	}
}
