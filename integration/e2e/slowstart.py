"""gunicorn configuration for the readiness scenario: the arbiter sleeps
before it listens and sends READY=1, so systemd must keep the unit
"activating" until then."""
import time

DELAY = 3


def on_starting(server):
    time.sleep(DELAY)
