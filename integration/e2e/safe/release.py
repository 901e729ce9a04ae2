"""safe.sh's release command: records who ran it, with which SITE_NAME (from
the app's .env), and when, in var/release under the app directory, the one
place the sandbox lets the service write; "release.py fail" exits 3."""
import os
import pwd
import sys
import time

if sys.argv[1:] == ["fail"]:
    print("release: the migration failed", file=sys.stderr)
    sys.exit(3)
with open("var/release", "w") as f:
    print(pwd.getpwuid(os.getuid()).pw_name, time.time(), os.environ.get("SITE_NAME"), file=f)
print("release: done as", pwd.getpwuid(os.getuid()).pw_name)
