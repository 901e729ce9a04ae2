package server

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestForArgv(t *testing.T) {
	for _, tc := range []struct {
		argv string
		want *Server
	}{
		{"gunicorn project.wsgi", &gunicorn},
		{"/srv/app/.venv/bin/uvicorn --fd 3", &uvicorn},
		{"celery -A project worker -l INFO", &celeryWorker},
		{"celery --app=project --broker redis://x worker", &celeryWorker},
		{"celery -A project -b redis://x beat -s /tmp/s", &celeryBeat},
		{"python -m celery -A project worker", &celeryWorker},
		{"python3.11 -m celery -A project beat", &celeryBeat},
		{"celery -A project flower", &program},
		{"celery -A worker inspect ping", &program},
		{"rq worker --url redis://x high low", &rqWorker},
		{"rqworker high", &rqWorker},
		{"rq info", &program},
		{"python manage.py clearsessions", &program},
		{"bin/report", &program},
	} {
		t.Run(tc.argv, func(t *testing.T) {
			got, err := ForArgv(strings.Fields(tc.argv))
			require.NoError(t, err)
			assert.Equal(t, tc.want.Name, got.Name)
		})
	}
	got, err := ForProcess("release", []string{"python", "manage.py", "migrate"})
	require.NoError(t, err)
	assert.Equal(t, Release, got.Kind)
	got, err = ForProcess("web", []string{"gunicorn"})
	require.NoError(t, err)
	assert.Equal(t, Web, got.Kind)
}

func TestForArgvRefused(t *testing.T) {
	for _, tc := range []struct{ argv, err string }{
		{"celery -A project multi start w1 w2", "celery multi starts its workers in the background and exits"},
		{"celery multi start 3", "celery multi starts its workers in the background and exits"},
		{"celery -A project worker --detach", "celery worker --detach forks into the background and exits"},
		{"celery -A project beat -D", "celery beat -D forks into the background"},
	} {
		t.Run(tc.argv, func(t *testing.T) {
			_, err := ForArgv(strings.Fields(tc.argv))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
		})
	}
}

func TestNamesAreWebServers(t *testing.T) {
	assert.Equal(t, []string{"gunicorn", "uvicorn", "hypercorn", "daphne"}, Names())
	assert.Nil(t, Lookup("celery"), "--server celery is no server of the table")
}

// A worker's name option, in each form click takes it; values and other
// options are not names. (A -n given as another option's value, -Q -n,
// would be read as a name: not covered.)
func TestWorkerName(t *testing.T) {
	for _, tc := range []struct{ argv, name string }{
		{"celery -A project worker -l INFO", ""},
		{"celery -A project worker -n w1@%h", "-n"},
		{"celery -A project worker -nw1@%h", "-nw1@%h"},
		{"celery -A project worker --hostname w1@%h", "--hostname"},
		{"celery -A project worker --hostname=w1@%h", "--hostname=w1@%h"},
		{"celery -A project worker --hostnames", ""},
		{"rq worker --url redis://x high", ""},
		{"rq worker -n fixed", "-n"},
		{"rqworker --name=fixed", "--name=fixed"},
	} {
		t.Run(tc.argv, func(t *testing.T) {
			argv := strings.Fields(tc.argv)
			srv, err := ForArgv(argv)
			require.NoError(t, err)
			require.Equal(t, Worker, srv.Kind)
			a, err := srv.ReadArgs(argv[1:])
			require.NoError(t, err)
			assert.Equal(t, tc.name, a.Name)
			assert.True(t, a.GracefulUnbounded)
		})
	}
}
