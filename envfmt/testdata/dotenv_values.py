# Reads each env file named on the command line with python-dotenv's
# dotenv_values, in an empty environment, and prints one JSON object per
# file, one per line: {"path", "values" (null for a name without "="),
# "warnings" (what python-dotenv logged), "error" (an exception)}.
import json
import logging
import os
import sys

import dotenv

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

for path in sys.argv[1:]:
    handler.records = []
    out = {"path": path, "values": {}, "warnings": [], "error": ""}
    try:
        out["values"] = dict(dotenv.dotenv_values(path))
    except Exception as e:  # UnicodeDecodeError and the like
        out["error"] = type(e).__name__
    out["warnings"] = handler.records
    print(json.dumps(out))
