# runapp deploy's pre-flight: import the application as its server would and
# make one request to the health path through it, in this process, without
# a socket. argv: APP DEFAULT-ATTR INTERFACE PATH HOST PORT.
# Everything goes to stderr, so that the outcome is its last line. Exit 0
# with the status; 3 the application does
# not load (its traceback on stderr); 4 it answers with a 5xx; 5 Django's
# system checks (what manage.py check runs) report errors.
import asyncio
import functools
import importlib
import inspect
import io
import os
import sys
import traceback
from urllib.parse import unquote_to_bytes

app_spec, default_attr, interface, target, host, port = sys.argv[1:7]
path, _, query = target.partition("?")


def fail(code, what):
    print("runapp-preflight: " + what, file=sys.stderr, flush=True)
    sys.exit(code)


def load():
    # As gunicorn (chdir), uvicorn (--app-dir .), hypercorn and daphne do:
    # the working directory is first on the path.
    sys.path.insert(0, os.getcwd())
    module, _, attr = app_spec.partition(":")
    attr = attr or default_attr
    if not attr:
        fail(3, "%r names no attribute: the server wants MODULE:ATTRIBUTE" % app_spec)
    mod = importlib.import_module(module)
    if "(" in attr:
        # gunicorn's factory call, e.g. "create_app()".
        return eval(attr, vars(mod))
    return functools.reduce(getattr, attr.split("."), mod)


def django_checks():
    # manage.py check: it imports the URL conf, which finds a view module
    # that raises at import even when the health path never reaches it.
    if "django" not in sys.modules:
        return
    from django.conf import settings
    if not settings.configured:
        return
    from django.core import checks
    errors = [m for m in checks.run_checks() if m.is_serious() and not m.is_silenced()]
    if errors:
        for m in errors:
            print(m, file=sys.stderr)
        fail(5, "Django's system checks (manage.py check) found %d error(s)" % len(errors))


def report_django_errors():
    # Django logs a view's exception only with DEBUG on; the signal sees it
    # always, so a 500 comes with its traceback.
    if "django" not in sys.modules:
        return
    from django.core.signals import got_request_exception

    def show(sender, **kwargs):
        traceback.print_exc()

    got_request_exception.connect(show, weak=False)


def is_asgi3(app):
    # uvicorn's rule (Config.load, interface "auto").
    if inspect.isclass(app):
        return hasattr(app, "__await__")
    if inspect.isfunction(app):
        return asyncio.iscoroutinefunction(app)
    return asyncio.iscoroutinefunction(getattr(app, "__call__", None))


def wsgi(app):
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": host,
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_SOFTWARE": "runapp-preflight",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": host,
        "HTTP_USER_AGENT": "runapp-deploy",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    status = []

    def start_response(s, headers, exc_info=None):
        status[:] = [s]
        return lambda data: None

    body = app(environ, start_response)
    try:
        for _ in body:
            pass
    finally:
        if hasattr(body, "close"):
            body.close()
    return int(status[0].split()[0])


async def asgi(app):
    call = app if is_asgi3(app) else (lambda scope, receive, send: app(scope)(receive, send))
    shutdown = await lifespan(call)
    done = asyncio.Event()
    status = []
    asked = False

    async def receive():
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            status.append(message["status"])
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote_to_bytes(path).decode("utf-8", "replace"),
        "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": [(b"host", host.encode("latin-1")), (b"user-agent", b"runapp-deploy")],
        "client": ("127.0.0.1", 0),
        "server": (host, int(port)),
    }
    await call(scope, receive, send)
    if shutdown:
        await shutdown()
    if not status:
        fail(4, "the application returned without starting a response")
    return status[0]


async def lifespan(call):
    # As uvicorn's "auto": an application that raises on the lifespan scope
    # does not support it, and serves anyway; one that reports its startup
    # failed does not serve.
    events = asyncio.Queue()
    await events.put({"type": "lifespan.startup"})
    started = asyncio.get_running_loop().create_future()

    async def send(message):
        if started.done():
            return
        if message["type"] == "lifespan.startup.complete":
            started.set_result(True)
        elif message["type"] == "lifespan.startup.failed":
            started.set_result(False)
            print(message.get("message", ""), file=sys.stderr)

    task = asyncio.ensure_future(call({"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}, events.get, send))
    await asyncio.wait([task, started], return_when=asyncio.FIRST_COMPLETED)
    if not started.done():
        if not task.cancelled():
            task.exception()  # unsupported: retrieved, so asyncio does not log it
        return None
    if not started.result():
        try:
            await asyncio.wait_for(task, 10)
        except BaseException:
            traceback.print_exc()
        fail(3, "the application's lifespan startup failed")

    async def shutdown():
        await events.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(task, 10)
        except Exception:
            pass

    return shutdown


def main():
    try:
        app = load()
        django_checks()
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        fail(3, "the application does not load")
    report_django_errors()
    try:
        if interface == "wsgi" or interface == "auto" and not is_asgi3(app):
            status = wsgi(app)
        else:
            status = asyncio.run(asgi(app))
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        fail(4, "GET %s raised an exception" % target)
    if status >= 500:
        fail(4, "GET %s answered %d" % (target, status))
    print("runapp-preflight: GET %s answered %d" % (target, status), file=sys.stderr, flush=True)


main()
