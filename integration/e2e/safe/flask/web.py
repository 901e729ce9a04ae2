"""A Flask app for safe.sh's deploys: / is the health path, /pid says which
code serves (VERSION) and which worker."""
import os

from flask import Flask

VERSION = "v1"
app = Flask(__name__)


@app.route("/")
def index():
    return {"site": os.environ.get("SITE_NAME"), "version": VERSION}


@app.route("/pid")
def pid():
    return f"{VERSION} {os.getpid()}\n"
