"""A Flask app for safe.sh's deploys: / is the health path, /pid says which
code serves (VERSION) and which worker."""
import os

from flask import Flask

VERSION = "v1"
# Imported as the service imports it, with its user and the app's .env, or
# not at all: deploy's pre-flight passes only if it runs the app so.
if os.getuid() == 0 or "SITE_NAME" not in os.environ:
    raise RuntimeError("not imported as the service: as root, or without the app's .env")
app = Flask(__name__)


@app.route("/")
def index():
    return {"site": os.environ.get("SITE_NAME"), "version": VERSION}


@app.route("/pid")
def pid():
    return f"{VERSION} {os.getpid()}\n"
