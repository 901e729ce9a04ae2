"""A FastAPI app served through runapp: runapp --server uvicorn -- api:app
(PYTHONPATH=src), or under gunicorn with -k uvicorn.workers.UvicornWorker.
Its settings come from os.environ, which runapp fills from .env."""
import asyncio
import hashlib
import os
import sys

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def index():
    token = os.environ.get("API_TOKEN", "")
    return {
        "greeting": os.environ.get("GREETING"),
        # A digest proves the exact value arrived without serving a secret.
        "api_token_sha256": hashlib.sha256(token.encode()).hexdigest(),
        "VIRTUAL_ENV": os.environ.get("VIRTUAL_ENV"),
        "cwd": os.getcwd(),
        "pid": os.getpid(),
        "ppid": os.getppid(),
    }


@app.get("/slow")
async def slow(s: float = 1):
    """Answer after s seconds: a request in flight for graceful-stop tests."""
    print(f"slow: worker {os.getpid()} sleeps {s}s", file=sys.stderr, flush=True)
    await asyncio.sleep(s)
    return {"slept": s, "pid": os.getpid()}
