package preflight

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/runapp/runapp/internal/testenv"
)

// django writes a Django project "project" under dir, whose views module
// is views and whose URL conf routes / to views.index and /other to
// views.other.
func django(t *testing.T, dir, views string) {
	t.Helper()
	files := map[string]string{
		"project/__init__.py": "",
		"project/settings.py": djangoSettings,
		"project/urls.py":     "from django.urls import path\nfrom project import views\nurlpatterns = [path('', views.index), path('other', views.other)]\n",
		"project/wsgi.py":     "import os\nfrom django.core.wsgi import get_wsgi_application\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'project.settings')\napplication = get_wsgi_application()\n",
		"project/asgi.py":     "import os\nfrom django.core.asgi import get_asgi_application\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'project.settings')\napplication = get_asgi_application()\n",
		"project/views.py":    views,
	}
	for name, data := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
	}
}

const djangoSettings = "SECRET_KEY = 'x'\nALLOWED_HOSTS = ['127.0.0.1']\nROOT_URLCONF = 'project.urls'\nINSTALLED_APPS = []\nMIDDLEWARE = []\nDATABASES = {}\n"

const goodViews = `from django.http import HttpResponse
def index(request):
    return HttpResponse("ok")
def other(request):
    return HttpResponse("other")
`

// run runs the pre-flight of app in dir with Debian's Python, which has
// Django, Flask and FastAPI.
func run(t *testing.T, dir string, app App) (string, error) {
	t.Helper()
	if _, err := os.Stat(testenv.DebianPython); err != nil {
		testenv.Skip(t, "needs Debian's "+testenv.DebianPython)
	}
	app.Python = testenv.DebianPython
	if app.Path == "" {
		app.Path = "/"
	}
	app.Host, app.Port = "127.0.0.1", "8000"
	argv := app.Argv()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1"}
	return Check(context.Background(), cmd)
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		files  map[string]string // beside a Django project with goodViews
		views  string
		app    App
		status string // "" for a failure
		failed string // what the failure says
		line   string // a line of the traceback's end
	}{
		{name: "django wsgi", app: App{Spec: "project.wsgi", DefaultAttr: "application", Interface: "auto"}, status: "GET / answered 200"},
		{name: "django asgi", app: App{Spec: "project.asgi:application", Interface: "asgi"}, status: "GET / answered 200"},
		{name: "django 404 is an answer", app: App{Spec: "project.wsgi", DefaultAttr: "application", Interface: "wsgi", Path: "/nowhere"}, status: "GET /nowhere answered 404"},
		// The case: the view module raises at import; Django imports
		// the URL conf lazily, so the WSGI module imports fine, and
		// manage.py check's URL check finds it.
		{name: "django view raises at import", views: goodViews + "raise RuntimeError('broken at import')\n",
			app: App{Spec: "project.wsgi", DefaultAttr: "application", Interface: "wsgi"}, failed: "the application does not load", line: "RuntimeError: broken at import"},
		{name: "django asgi view raises at import", views: goodViews + "raise RuntimeError('broken at import')\n",
			app: App{Spec: "project.asgi:application", Interface: "asgi"}, failed: "the application does not load", line: "RuntimeError: broken at import"},
		{name: "django view fails", views: "from django.http import HttpResponse\ndef index(request):\n    return 1 / 0\ndef other(request):\n    return HttpResponse('')\n",
			app: App{Spec: "project.wsgi", DefaultAttr: "application", Interface: "wsgi"}, failed: "GET / answered 500", line: "ZeroDivisionError: division by zero"},
		// What no request reaches is not seen.
		{name: "django other view fails", views: "from django.http import HttpResponse\ndef index(request):\n    return HttpResponse('')\ndef other(request):\n    return 1 / 0\n",
			app: App{Spec: "project.wsgi", DefaultAttr: "application", Interface: "wsgi"}, status: "GET / answered 200"},
		// A check error stops it, as it stops manage.py check, unless
		// SILENCED_SYSTEM_CHECKS silences it.
		{name: "django check error", files: map[string]string{"project/settings.py": djangoSettings + "MEDIA_URL = '/media'\n"},
			app: App{Spec: "project.wsgi", DefaultAttr: "application", Interface: "wsgi"}, failed: "Django's system checks (manage.py check) found 1 error(s)", line: "?: (urls.E006) The MEDIA_URL setting must end with a slash."},
		{name: "django check error silenced", files: map[string]string{"project/settings.py": djangoSettings + "MEDIA_URL = '/media'\nSILENCED_SYSTEM_CHECKS = ['urls.E006']\n"},
			app: App{Spec: "project.wsgi", DefaultAttr: "application", Interface: "wsgi"}, status: "GET / answered 200"},
		{name: "django settings missing", app: App{Spec: "project.wsgi:nothing", Interface: "wsgi"}, failed: "the application does not load", line: "AttributeError: module 'project.wsgi' has no attribute 'nothing'"},
		{name: "module missing", app: App{Spec: "nowhere.wsgi", DefaultAttr: "application", Interface: "auto"}, failed: "the application does not load", line: "ModuleNotFoundError: No module named 'nowhere'"},
		{name: "uvicorn without attribute", app: App{Spec: "project.asgi", Interface: "asgi"}, failed: `'project.asgi' names no attribute: the server wants MODULE:ATTRIBUTE`},
		{name: "flask", files: map[string]string{"web.py": "from flask import Flask\napp = Flask(__name__)\n@app.route('/')\ndef index():\n    return 'ok'\n"},
			app: App{Spec: "web:app", DefaultAttr: "application", Interface: "auto"}, status: "GET / answered 200"},
		{name: "flask factory", files: map[string]string{"web.py": "from flask import Flask\ndef create_app():\n    app = Flask(__name__)\n    app.route('/')(lambda: 'ok')\n    return app\n"},
			app: App{Spec: "web:create_app()", DefaultAttr: "application", Interface: "auto"}, status: "GET / answered 200"},
		{name: "flask view fails", files: map[string]string{"web.py": "from flask import Flask\napp = Flask(__name__)\n@app.route('/')\ndef index():\n    raise KeyError('missing')\n"},
			app: App{Spec: "web:app", DefaultAttr: "application", Interface: "wsgi"}, failed: "GET / answered 500", line: "KeyError: 'missing'"},
		{name: "fastapi", files: map[string]string{"api.py": "from fastapi import FastAPI\napp = FastAPI()\n@app.get('/')\ndef index():\n    return {'ok': True}\n"},
			app: App{Spec: "api:app", Interface: "asgi"}, status: "GET / answered 200"},
		{name: "fastapi factory", files: map[string]string{"api.py": "from fastapi import FastAPI\ndef make():\n    app = FastAPI()\n    app.get('/')(lambda: 1)\n    return app\n"},
			app: App{Spec: "api:make", Interface: "asgi", Factory: true}, status: "GET / answered 200"},
		{name: "fastapi startup fails", files: map[string]string{"api.py": "from fastapi import FastAPI\napp = FastAPI()\n@app.on_event('startup')\nasync def up():\n    raise OSError('no database')\n"},
			app: App{Spec: "api:app", Interface: "asgi"}, failed: "the application's lifespan startup failed", line: "OSError: no database"},
		{name: "fastapi view fails", files: map[string]string{"api.py": "from fastapi import FastAPI\napp = FastAPI()\n@app.get('/up')\nasync def up():\n    raise OSError('no database')\n"},
			app: App{Spec: "api:app", Interface: "asgi", Path: "/up"}, failed: "GET /up raised an exception", line: "OSError: no database"},
		{name: "asgi 2", files: map[string]string{"two.py": "class App:\n    def __init__(self, scope):\n        self.scope = scope\n    async def __call__(self, receive, send):\n        if self.scope['type'] != 'http':\n            raise ValueError\n        await send({'type': 'http.response.start', 'status': 503, 'headers': []})\n        await send({'type': 'http.response.body', 'body': b''})\n"},
			app: App{Spec: "two:App", Interface: "asgi"}, failed: "GET / answered 503"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			views := tc.views
			if views == "" {
				views = goodViews
			}
			django(t, dir, views)
			for name, data := range tc.files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
			}
			status, err := run(t, dir, tc.app)
			if tc.failed == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.status, status)
				return
			}
			var f *Failed
			require.ErrorAs(t, err, &f)
			assert.Equal(t, tc.failed, f.What)
			if tc.line != "" {
				assert.Contains(t, f.Lines, tc.line)
			}
			for _, l := range f.Lines {
				assert.NotContains(t, l, "<frozen importlib.", "importlib's frames say nothing of the app")
				assert.NotRegexp(t, `^\s*\^+\s*$`, l, "nor the carets under an expression")
			}
		})
	}
}
