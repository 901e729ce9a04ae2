package preflight

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/unitfile"
)

// The transient service starts as the unit's does: its user, environment,
// credentials and sandbox, and runapp exec with ExecStart='s flags; none
// of how the unit starts, stops or reloads, nor RemoveIPC=.
func TestTransient(t *testing.T) {
	u, err := unitfile.LoadFile("../unitgen/testdata/credential.service")
	require.NoError(t, err)
	argv, err := Transient(u, "shop-preflight-1.service", "exec", "--", "/srv/shop/venv/bin/python", "-c", "pass")
	require.NoError(t, err)
	cmd := strings.Join(argv, " ")
	assert.True(t, strings.HasPrefix(cmd, "systemd-run --quiet --collect --wait --pipe --service-type=exec --unit=shop-preflight-1.service "), cmd)
	for _, want := range []string{
		"--property=User=www-data", "--property=Group=www-data", "--property=WorkingDirectory=/srv/shop",
		"--property=EnvironmentFile=/etc/shop/prod.env", "--property=LoadCredential=env:/srv/shop/.env",
		"--property=ProtectSystem=strict", "--property=ReadWritePaths=/srv/shop/media /var/lib/shop",
		"--property=SystemCallFilter=@system-service", "--property=UMask=0027",
	} {
		assert.Contains(t, argv, want)
	}
	for _, not := range []string{"RemoveIPC", "ExecReload", "Type=notify", "Restart=", "KillMode", "TimeoutStopSec"} {
		assert.NotContains(t, cmd, not)
	}
	assert.True(t, strings.HasSuffix(cmd, " /usr/local/bin/runapp exec --app-dir /srv/shop --venv /srv/shop/venv"+
		" --env-file /run/credentials/shop-preflight-1.service/env --env-file /run/credentials/shop-preflight-1.service/prod.env"+
		" --env-file /run/credentials/shop-preflight-1.service/env-2 -- /srv/shop/venv/bin/python -c pass"), cmd)
}

func TestTransientRefuses(t *testing.T) {
	for name, unit := range map[string]string{
		"specifier":  "[Service]\nWorkingDirectory=%h\nExecStart=/usr/bin/runapp -- app.wsgi\n",
		"not runapp": "[Service]\nExecStart=/usr/bin/gunicorn app.wsgi\n",
	} {
		path := filepath.Join(t.TempDir(), "app.service")
		require.NoError(t, os.WriteFile(path, []byte(unit), 0o644))
		u, err := unitfile.LoadFile(path)
		require.NoError(t, err)
		_, err = Transient(u, "app-preflight-1.service", "exec", "--", "true")
		assert.Error(t, err, name)
	}
	path := filepath.Join(t.TempDir(), "app.service")
	require.NoError(t, os.WriteFile(path, []byte("[Service]\nRuntimeDirectory=app\nExecStart=/usr/bin/runapp serve --app-dir /srv/app\n"), 0o644))
	u, err := unitfile.LoadFile(path)
	require.NoError(t, err)
	argv, err := Transient(u, "app-preflight-1.service", "exec", "--", "true")
	require.NoError(t, err)
	assert.Contains(t, argv, "--property=ReadWritePaths=-/run/app", "the running service's runtime directory, neither created nor removed")
	assert.Equal(t, []string{"/usr/bin/runapp", "exec", "--app-dir", "/srv/app", "--", "true"}, argv[len(argv)-6:])
}

// A release runs as serve --process, which refuses --server: the
// Procfile's command names the program.
func TestTransientProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.service")
	require.NoError(t, os.WriteFile(path, []byte("[Service]\nExecStart=/usr/bin/runapp --app-dir /srv/api --server uvicorn --env-file=.env -server=uvicorn -- --fd 3 api:app\n"), 0o644))
	u, err := unitfile.LoadFile(path)
	require.NoError(t, err)
	argv, err := Transient(u, "api-release-1.service", "serve", "--process", "release")
	require.NoError(t, err)
	assert.Equal(t, []string{"/usr/bin/runapp", "serve", "--app-dir", "/srv/api", "--env-file=.env", "--process", "release"}, argv[len(argv)-7:])
	argv, err = Transient(u, "api-preflight-1.service", "exec", "--", "python")
	require.NoError(t, err)
	assert.Contains(t, argv, "uvicorn", "exec keeps --server")

	// A unit that runs a Procfile's process type.
	require.NoError(t, os.WriteFile(path, []byte("[Service]\nExecStart=/usr/bin/runapp --app-dir /srv/api --procfile --process web --env-file .env\n"), 0o644))
	u, err = unitfile.LoadFile(path)
	require.NoError(t, err)
	argv, err = Transient(u, "api-release-1.service", "serve", "--process", "release")
	require.NoError(t, err)
	assert.Equal(t, []string{"/usr/bin/runapp", "serve", "--app-dir", "/srv/api", "--procfile", "--env-file", ".env", "--process", "release"}, argv[len(argv)-9:])
	argv, err = Transient(u, "api-preflight-1.service", "exec", "--", "python")
	require.NoError(t, err)
	assert.Equal(t, []string{"/usr/bin/runapp", "exec", "--app-dir", "/srv/api", "--env-file", ".env", "--", "python"}, argv[len(argv)-8:])
}

// The service's name in a value means the service, not the transient
// unit: expanded as systemd expands it for the service.
func TestSpecifiers(t *testing.T) {
	for value, want := range map[string]string{
		"/run/%N":      "/run/shop@blue",
		"%n":           "shop@blue.service",
		"/srv/%p/%i":   "/srv/shop/blue",
		"100%% %p":     "100% shop",
		"no specifier": "no specifier",
	} {
		got, ok := specifiers(value, "shop@blue.service")
		assert.True(t, ok, value)
		assert.Equal(t, want, got, value)
	}
	for _, value := range []string{"%h", "%u", "50%"} {
		_, ok := specifiers(value, "shop.service")
		assert.False(t, ok, value)
	}
}

// A template's instance: the ExecStart= of shop@blue.service names its app
// directory with %i, and the transient unit runs that one.
func TestTransientTemplate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shop@.service")
	require.NoError(t, os.WriteFile(path, []byte("[Service]\nUser=%i\nExecStart=/usr/bin/runapp --app-dir /srv/%i --env-file 100%%.env -- %N.wsgi\n"), 0o644))
	u, err := unitfile.LoadFile(path)
	require.NoError(t, err)
	u.Name = "shop@blue.service"
	argv, err := Transient(u, "shop@blue-preflight-1.service", "exec", "--", "python")
	require.NoError(t, err)
	assert.Contains(t, argv, "--property=User=blue")
	assert.Equal(t, []string{"/usr/bin/runapp", "exec", "--app-dir", "/srv/blue", "--env-file", "100%.env", "--", "python"}, argv[len(argv)-8:])
}
