# Reads each env file named on the command line with python-dotenv's
# dotenv_values, and prints one JSON object per file, one per line:
#   {"path": PATH, "default": R, "interpolate": R, "environ": R}
# where each R is {"values" (null for a name without "="), "warnings" (what
# python-dotenv logged), "error" (an exception's name)}:
#   default:     dotenv_values(path), python-dotenv's defaults, in an empty
#                environment;
#   interpolate: dotenv_values(path, interpolate=True), the same call with
#                the interpolation asked for by name;
#   environ:     dotenv_values(path) with every ${NAME} the file mentions set
#                in os.environ to "<env:NAME>": a value that differs from
#                default depends on the environment the app starts in.
import json
import logging
import os
import sys

import dotenv
import dotenv.variables

os.environ.clear()


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record.getMessage())


handler = Collect()
logging.getLogger("dotenv").addHandler(handler)
logging.getLogger("dotenv").propagate = False


def read(path, **kwargs):
    handler.records = []
    out = {"values": {}, "warnings": [], "error": ""}
    try:
        out["values"] = dict(dotenv.dotenv_values(path, **kwargs))
    except Exception as e:  # UnicodeDecodeError and the like
        out["error"] = type(e).__name__
    out["warnings"] = handler.records
    return out


def mentioned(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except Exception:
        return []
    return [m.group("name") for m in dotenv.variables._posix_variable.finditer(text)]


for path in sys.argv[1:]:
    out = {"path": path, "default": read(path), "interpolate": read(path, interpolate=True)}
    os.environ.update({name: "<env:%s>" % name for name in mentioned(path) if name and "\0" not in name and "=" not in name})
    out["environ"] = read(path)
    os.environ.clear()
    print(json.dumps(out))
