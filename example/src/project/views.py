"""Views that show what the app received from runapp, for the demo and the
integration tests."""
import asyncio
import hashlib
import os
import sys
import time

from django.http import HttpResponse, JsonResponse

# The variables .env sets, shown as received. SECRET_KEY is shown only as a
# digest: enough to prove the exact value arrived without serving a secret.
SHOWN = ["DEBUG", "ALLOWED_HOSTS", "DATABASE_URL", "SITE_NAME", "PRICE_NOTE"]


def index(request):
    secret = os.environ.get("SECRET_KEY", "")
    return JsonResponse(
        {
            "env": {name: os.environ.get(name) for name in SHOWN},
            "secret_key_sha256": hashlib.sha256(secret.encode()).hexdigest(),
            "VIRTUAL_ENV": os.environ.get("VIRTUAL_ENV"),
            "PYTHONPATH": os.environ.get("PYTHONPATH"),
            "PATH": os.environ.get("PATH"),
            "sys_prefix": sys.prefix,
            "sys_path": sys.path,
            "cwd": os.getcwd(),
            "pid": os.getpid(),
            "ppid": os.getppid(),
        }
    )


def slow(request):
    """Answer after ?s=N seconds: a request in flight for graceful-stop tests."""
    seconds = float(request.GET.get("s", "1"))
    # Tells a test the request is in flight, so it can signal the server.
    print(f"slow: worker {os.getpid()} sleeps {seconds}s", file=sys.stderr, flush=True)
    time.sleep(seconds)
    return JsonResponse({"slept": seconds, "pid": os.getpid()})


def pid(request):
    """The worker's PID, as text."""
    return HttpResponse(f"{os.getpid()}\n", content_type="text/plain")


async def asleep(request):
    """The async twin of slow: under an ASGI server it waits on the event loop
    rather than in a thread, as an async view in production does."""
    seconds = float(request.GET.get("s", "1"))
    print(f"slow: worker {os.getpid()} sleeps {seconds}s", file=sys.stderr, flush=True)
    await asyncio.sleep(seconds)
    return JsonResponse({"slept": seconds, "pid": os.getpid(), "async": True})
