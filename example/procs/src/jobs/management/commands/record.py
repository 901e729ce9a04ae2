"""A scheduled job: appends when it ran, as whom and with which GREETING."""
import getpass
import os
import pathlib
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "record a run of the job (it lasts longer than the timer's period)"

    def handle(self, *args, **options):
        log = pathlib.Path(os.environ["OUT_DIR"]) / "record.log"
        with log.open("a") as f:
            f.write(f"start {time.time():.3f} {getpass.getuser()} {os.environ['GREETING']}\n")
        time.sleep(float(os.environ.get("RECORD_SECONDS", "8")))
        with log.open("a") as f:
            f.write(f"end {time.time():.3f}\n")
