"""A FastAPI app for safe.sh's deploys under uvicorn: / is the health path,
/pid says which code serves (VERSION) and which process."""
import os

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

VERSION = "v1"
# Imported as the service imports it, with its user and the app's .env, or
# not at all: deploy's pre-flight passes only if it runs the app so.
if os.getuid() == 0 or "SITE_NAME" not in os.environ:
    raise RuntimeError("not imported as the service: as root, or without the app's .env")
app = FastAPI()


@app.get("/")
async def index():
    return {"site": os.environ.get("SITE_NAME"), "version": VERSION}


@app.get("/pid", response_class=PlainTextResponse)
async def pid():
    return f"{VERSION} {os.getpid()}\n"
