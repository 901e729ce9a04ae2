"""A FastAPI app for safe.sh's deploys under uvicorn: / is the health path,
/pid says which code serves (VERSION) and which process."""
import os

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

VERSION = "v1"
app = FastAPI()


@app.get("/")
async def index():
    return {"site": os.environ.get("SITE_NAME"), "version": VERSION}


@app.get("/pid", response_class=PlainTextResponse)
async def pid():
    return f"{VERSION} {os.getpid()}\n"
