package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/check"
	"github.com/runapp/runapp/launcher"
	"github.com/runapp/runapp/unitfile"
)

// What deploy does with an app's Procfile before it would run the release
// command: nothing without one or without a release process, a message
// for --no-release and --dry-run, exit 78 for a Procfile runapp refuses;
// and nothing runs in any of these cases.
func TestReleaseSteps(t *testing.T) {
	for _, tc := range []struct {
		name, procfile string
		noRelease, dry bool
		said           string
		code           int // the *launcher.Error's, 0 for none
	}{
		{name: "no Procfile"},
		{name: "no release", procfile: "web: gunicorn project.wsgi\n"},
		{name: "skipped", procfile: "web: gunicorn\nrelease: python manage.py migrate\n", noRelease: true, said: "deploy: release: DIR/Procfile:2 skipped (--no-release)\n"},
		{name: "dry run", procfile: "release: python manage.py migrate --noinput\n", dry: true,
			said: "deploy: would run the release command (DIR/Procfile:1) as shop.service runs: python manage.py migrate --noinput\n"},
		{name: "bad Procfile", procfile: "release python manage.py migrate\n", dry: true, code: launcher.ExitConfig},
		{name: "refused command", procfile: "release: python manage.py migrate && echo done\n", dry: true, code: launcher.ExitConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "venv", "bin"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "venv", "bin", "python"), []byte("#!/bin/sh\n"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "venv", "pyvenv.cfg"), []byte("home = /usr/bin\n"), 0o644))
			if tc.procfile != "" {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "Procfile"), []byte(tc.procfile), 0o644))
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte("SITE_NAME=shop\n"), 0o644))
			unit := filepath.Join(dir, "shop.service")
			require.NoError(t, os.WriteFile(unit, []byte("[Service]\nUser=shop\nExecStart=/usr/bin/runapp --app-dir "+dir+" -- project.wsgi\n"), 0o644))
			u, err := unitfile.LoadFile(unit)
			require.NoError(t, err)
			o := Options{Unit: "shop.service", File: u, NoRelease: tc.noRelease, DryRun: tc.dry,
				Check: check.Options{Config: launcher.Config{AppDir: dir, Venv: filepath.Join(dir, "venv")}}}
			var said string
			say := func(f string, a ...any) { said += "deploy: " + fmt.Sprintf(f, a...) + "\n" }
			err = o.release(context.Background(), []string{"PATH=/usr/bin:/bin"}, dir, io.Discard, say)
			if tc.code != 0 {
				var e *launcher.Error
				require.True(t, errors.As(err, &e), "%v", err)
				assert.Equal(t, tc.code, e.Code)
				assert.Contains(t, err.Error(), dir+"/Procfile:1")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.said, strings.ReplaceAll(said, dir, "DIR"))
		})
	}
}

// A transient unit named after a template's instance would be another
// instance of the template, which systemd refuses to create (seen with
// tpl@dep.service in the booted suite).
func TestTransientName(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	assert.Equal(t, "runapp-preflight-shop-"+pid+".service", transientName("preflight", "shop.service"))
	assert.Equal(t, "runapp-release-tpl-dep-"+pid+".service", transientName("release", "tpl@dep.service"))
}
