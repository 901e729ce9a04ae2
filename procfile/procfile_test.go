package procfile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/procfile"
)

func TestParse(t *testing.T) {
	data := "# the app\n" +
		"web: gunicorn project.wsgi\n" +
		"\n" +
		"  worker :  celery -A project worker  \r\n" +
		"release:python manage.py migrate\n" +
		"clock-2_x: python clock.py --url http://x:1/\n"
	f, err := procfile.Parse("Procfile", []byte(data))
	require.NoError(t, err)
	assert.Equal(t, []procfile.Process{
		{Name: "web", Command: "gunicorn project.wsgi", Line: 2},
		{Name: "worker", Command: "celery -A project worker", Line: 4},
		{Name: "release", Command: "python manage.py migrate", Line: 5},
		{Name: "clock-2_x", Command: "python clock.py --url http://x:1/", Line: 6},
	}, f.Processes)
	assert.Equal(t, []string{"web", "worker", "release", "clock-2_x"}, f.Names())
	p, ok := f.Lookup("worker")
	assert.True(t, ok)
	assert.Equal(t, 4, p.Line)
	_, ok = f.Lookup("beat")
	assert.False(t, ok)
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ data, err string }{
		{"web: a\ngunicorn project.wsgi\n", "Procfile:2: no colon: a line is `name: command`; make it one, or a comment with #"},
		{": gunicorn\n", "Procfile:1: no process name before the colon; write `name: command`"},
		{"web.1: gunicorn\n", `Procfile:1: process name "web.1" has characters other than letters, digits, - and _; rename it`},
		{"my web: gunicorn\n", `Procfile:1: process name "my web" has characters other than letters, digits, - and _; rename it`},
		{"\n\nweb:   \n", "Procfile:3: process web has no command; write one after the colon, or remove the line"},
		{"web: a\nworker: b\nweb: c\n", "Procfile:3: process web is defined again (first on line 1); rename or remove one"},
	} {
		t.Run(tc.err, func(t *testing.T) {
			f, err := procfile.Parse("Procfile", []byte(tc.data))
			assert.Nil(t, f)
			assert.EqualError(t, err, tc.err)
		})
	}
}

func TestRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Procfile")
	require.NoError(t, os.WriteFile(path, []byte("web: gunicorn x.wsgi\n"), 0o644))
	f, err := procfile.Read(path)
	require.NoError(t, err)
	assert.Equal(t, path, f.Path)
	assert.Len(t, f.Processes, 1)

	_, err = procfile.Read(filepath.Join(t.TempDir(), "Procfile"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
