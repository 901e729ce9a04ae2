"""The celery app and its one task, which reports what its process received."""
import getpass
import os
import pathlib
import time

from celery import Celery

app = Celery("procsite", broker=os.environ["REDIS_URL"], backend=os.environ["REDIS_URL"])
app.conf.task_track_started = True
app.conf.broker_connection_retry_on_startup = True


@app.task
def report(seconds):
    """Sleep, then return (and write out) what the worker received."""
    out = pathlib.Path(os.environ["OUT_DIR"])
    (out / f"started-{report.request.id}").write_text(str(os.getpid()))
    time.sleep(seconds)
    result = {"greeting": os.environ["GREETING"], "user": getpass.getuser(), "pid": os.getpid()}
    (out / f"done-{report.request.id}").write_text(result["greeting"])
    return result
