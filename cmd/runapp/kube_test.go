package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runapp kube prints the manifests, and with --procfile=FILE reads the
// Procfile where it runs: a Deployment per type, each naming its type.
func TestKube(t *testing.T) {
	procfile := filepath.Join(t.TempDir(), "Procfile")
	require.NoError(t, os.WriteFile(procfile, []byte("web: gunicorn --bind 0.0.0.0:$PORT\nworker: celery -A project worker\n"), 0o644))

	r := runapp(t, nil, "kube", "--app-dir", "/srv/app", "--image", "shop:1", "--", "--bind", "0.0.0.0:8000")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "kind: Deployment\n")
	assert.Contains(t, r.stdout, "kind: Service\n")

	r = runapp(t, nil, "kube", "--app-dir", "/srv/app", "--image", "shop:1", "--procfile="+procfile)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "  name: app-web\n")
	assert.Contains(t, r.stdout, "  name: app-worker\n")
	assert.Contains(t, r.stdout, "        - \"--procfile="+procfile+"\"\n        - \"--process\"\n        - worker\n")
	assert.Contains(t, r.stdout, "containerPort: 5000\n", "the web type's $PORT, by foreman's rule")

	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"kube", "--image", "shop:1"}, 2, "runapp: give --app-dir: the app's directory in the image, e.g. /srv/app\n"},
		{[]string{"kube", "--app-dir", "/srv/app", "--image", "shop:1", "--procfile=" + procfile, "--", "-w", "2"}, 2,
			"runapp: with --procfile or --process the Procfile's commands name the programs and their arguments: drop --server and SERVER-ARGS\n"},
		{[]string{"kube", "--app-dir", "/srv/app", "--image", "shop:1", "--procfile=" + procfile + ".missing"}, 78,
			"runapp: no Procfile at " + procfile + ".missing; write one (a `name: command` line per process type), or name another with --procfile=FILE\n"},
	} {
		r := runapp(t, nil, tc.args...)
		assert.Equal(t, tc.code, r.code, "%v", tc.args)
		assert.Equal(t, tc.stderr, r.stderr, "%v", tc.args)
		assert.Empty(t, r.stdout)
	}
}
