package check

import "testing"

// An ASGI server in the virtualenv: a script that says its version as
// uvicorn 0.17 does (runapp's drift check asks it).
func asgiServer(name string) []string {
	return []string{".venv/bin/" + name, "#!/bin/sh\necho 'Running uvicorn 0.17.6 with CPython 3.11.2 on Linux'\n"}
}

func withServer(name string, args ...string) func(*Options, string) {
	return func(o *Options, _ string) { o.Config.Server, o.Config.Args = name, args }
}

// The pitfalls of each server of issue 13, from the facts
// integration/asgi_test.go shows against the real servers.
func TestASGIPitfalls(t *testing.T) {
	asgi := with(append(asgiServer("uvicorn"), append(asgiServer("hypercorn"),
		"src/project/asgi.py", "from django.core.asgi import get_asgi_application\napplication = get_asgi_application()\n",
		"api.py", "import os\nfrom fastapi import FastAPI\napp = FastAPI()\n",
	)...)...)
	exec := func(name string) func(*testing.T, string) { return chmod(".venv/bin/"+name, 0o755) }
	tests := []checkCase{
		{
			name:  "uvicorn, the application found",
			files: asgi, setup: exec("uvicorn"),
			opts: withServer("uvicorn", "--fd", "3"),
		},
		{
			name:  "uvicorn --reload",
			files: asgi, setup: exec("uvicorn"),
			opts: withServer("uvicorn", "--reload", "project.asgi:application"),
			want: []want{{Warning, "server.reload", "SERVER-ARGS", []string{"uvicorn --reload is a development aid", "a reloader process takes MainPID's place", "remove --reload"}}},
		},
		{
			name:  "uvicorn --workers",
			files: asgi, setup: exec("uvicorn"),
			opts: withServer("uvicorn", "--workers", "4", "api:app"),
			want: []want{{Warning, "server.supervisor", "SERVER-ARGS", []string{"uvicorn --workers 4 puts a supervisor process in MainPID's place", "HUP kills it", "gunicorn -k uvicorn.workers.UvicornWorker --workers N"}}},
		},
		{
			name:  "uvicorn --workers 1 is no supervisor",
			files: asgi, setup: exec("uvicorn"),
			opts: withServer("uvicorn", "--workers", "1", "api:app"),
		},
		{
			name:  "hypercorn --reload",
			files: asgi, setup: exec("hypercorn"),
			opts: withServer("hypercorn", "--reload", "api:app"),
			want: []want{{Warning, "server.reload", "SERVER-ARGS", []string{"hypercorn --reload", "re-executes itself"}}},
		},
		{
			name:  "hypercorn --workers",
			files: asgi, setup: exec("hypercorn"),
			opts: withServer("hypercorn", "-w", "2", "api:app"),
			want: []want{{Warning, "server.supervisor", "SERVER-ARGS", []string{"hypercorn --workers 2"}}},
		},
		{
			name:  "arguments uvicorn refuses",
			files: asgi, setup: exec("uvicorn"),
			opts: withServer("uvicorn", "--port"),
			want: []want{{Error, "server.args", "SERVER-ARGS", []string{"uvicorn would refuse its arguments", "--port"}}},
		},
		{
			name:  "uvicorn's unit as runapp writes it",
			files: asgi, setup: exec("uvicorn"),
			opts: withServer("uvicorn", "--port", "8001", "api:app"),
			unit: func(u string) string { return u },
		},
		{
			name:  "a gunicorn-shaped unit: ExecReload= kills uvicorn",
			files: asgi, setup: exec("uvicorn"),
			opts: withServer("uvicorn", "--port", "8001", "api:app"),
			unit: edit("KillMode=mixed\n", "ExecReload=/bin/kill -HUP $MAINPID\nKillMode=mixed\n"),
			want: []want{{Error, "unit.reload", "$UNIT@ExecReload=", []string{"sends HUP to uvicorn, which has no reload", "systemctl reload stops the service", "remove ExecReload="}}},
		},
		{
			name:  "a command of its own as ExecReload= is not judged",
			files: asgi, setup: exec("uvicorn"),
			opts: withServer("uvicorn", "--port", "8001", "api:app"),
			unit: edit("KillMode=mixed\n", "ExecReload=/usr/local/bin/deploy-hook\nKillMode=mixed\n"),
		},
		{
			name:  "Type=notify for uvicorn",
			files: asgi, setup: exec("uvicorn"),
			opts: withServer("uvicorn", "--port", "8001", "api:app"),
			unit: edit("Type=exec\n", "Type=notify\n"),
			want: []want{{Error, "unit.type", "$UNIT@Type=", []string{"READY=1, which uvicorn never sends", "Type=exec"}}},
		},
		{
			name:  "Django's asgi.py under gunicorn's default sync worker",
			files: asgi,
			opts:  serverArgs("project.asgi:application"),
			want:  []want{{Error, "gunicorn.worker", "SERVER-ARGS", []string{"project.asgi:application looks like an ASGI application (the module is Django's asgi.py)", "default sync worker", "-k uvicorn.workers.UvicornWorker"}}},
		},
		{
			name:  "a FastAPI app under the gthread worker",
			files: asgi,
			opts:  serverArgs("-k", "gthread", "api:app"),
			want:  []want{{Error, "gunicorn.worker", "SERVER-ARGS", []string{"api:app looks like an ASGI application (it imports fastapi)", "gunicorn's gthread worker"}}},
		},
		{
			name:  "uvicorn's worker",
			files: asgi,
			opts:  serverArgs("-k", "uvicorn.workers.UvicornWorker", "api:app"),
		},
		{
			name:  "uvicorn's worker from gunicorn.conf.py",
			files: with("api.py", "from fastapi import FastAPI\napp = FastAPI()\n", "gunicorn.conf.py", "worker_class = 'uvicorn.workers.UvicornWorker'\n"),
			opts:  serverArgs("api:app"),
		},
		{
			name:  "the sync worker from gunicorn.conf.py",
			files: with("api.py", "from starlette.applications import Starlette\napp = Starlette()\n", "gunicorn.conf.py", "worker_class = 'sync'\n"),
			opts:  serverArgs("api:app"),
			want:  []want{{Error, "gunicorn.worker", "gunicorn.conf.py:1", []string{"it imports starlette", "gunicorn's sync worker"}}},
		},
		{
			name:  "a WSGI app under the sync worker",
			files: good,
			opts:  serverArgs("project.wsgi"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runCase(t, tc) })
	}
}
