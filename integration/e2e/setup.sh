#!/bin/bash
# setup.sh runs inside the end-to-end root before it boots (systemd-nspawn
# without an init): it lays out the apps as the seed does (/srv/APP with the
# Django project, a virtualenv, .env, a dedicated user), installs the units
# that `runapp unit` writes for them and enables the checker.
#
# The Go test has copied in: runapp's Debian package as /e2e/runapp.deb
# (make deb), the example app under /e2e/example, scripts/mkvenv as
# /e2e/mkvenv and this directory as /e2e.
set -euo pipefail

# runapp as a server gets it: from its package, into /usr/bin, where the
# units `runapp unit` writes will name it.
dpkg -i /e2e/runapp.deb >/dev/null
runapp=/usr/bin/runapp
units=/etc/systemd/system

source /e2e/lib.sh

# Scenarios 1-4 and 9: a strict unit serving on port 80 with two workers.
app shop
# Scenario 2: the same app, with a gunicorn hook that delays READY=1.
app ready
cp /e2e/slowstart.py /srv/ready/slowstart.py
# Scenario 5: socket activation.
app sock
# Scenario 6: a .env that runapp refuses.
app broken /e2e/broken.env
# Scenario 7: the env file is root's alone and reaches the app as a credential.
app vault
chown root:root /srv/vault/.env
chmod 0600 /srv/vault/.env

# --socket none: gunicorn binds port 80 itself, with the capability.
"$runapp" unit --app-dir /srv/shop --user shop --socket none --write "$units" \
	-- --bind 0.0.0.0:80 --workers 2 project.wsgi
"$runapp" unit --app-dir /srv/ready --user ready --write "$units" \
	-- --config /srv/ready/slowstart.py --bind 127.0.0.1:8083 project.wsgi
"$runapp" unit --app-dir /srv/sock --user sock --socket 8081 --write "$units"
"$runapp" unit --app-dir /srv/broken --user broken --write "$units"
"$runapp" unit --app-dir /srv/vault --user vault --credential --write "$units" \
	-- --bind 127.0.0.1:8082 project.wsgi

# The apps of the measurements under load and of runapp deploy.
source /e2e/load-setup.sh

# Scenario 10: drop-ins, read by systemd and by runapp's unitfile alike. A
# package's drop-in replaces ExecStart= with the same command (the empty
# assignment resets the list: without it systemd refuses shop.service), one
# in /etc hides the package's of the same name, and one applies to every
# service.
pkg=/usr/lib/systemd/system
mkdir -p "$pkg/shop.service.d" "$units/shop.service.d" "$units/service.d"
{
	echo '[Service]'
	echo 'ExecStart='
	grep '^ExecStart=' "$units/shop.service"
} >"$pkg/shop.service.d/40-e2e.conf"
printf '[Unit]\nDescription=hidden by /etc\n' >"$pkg/shop.service.d/50-e2e.conf"
printf '[Unit]\nDocumentation=https://example.invalid/shop\n' >"$units/shop.service.d/50-e2e.conf"
printf '[Unit]\nDocumentation=https://example.invalid/every-service\n' >"$units/service.d/60-e2e.conf"

/e2e/asgi.sh setup # the ASGI servers' apps and units (issue 13)
/e2e/safe.sh setup # deploys that cannot take the site down (issue 18)
/e2e/idem.sh setup # runapp deploy's idempotence (issue 20)
/e2e/procs.sh setup # an app's processes from its Procfile (issue 17)
/e2e/busctl.sh setup # busctl's JSON, for internal/running's tests

# ready.service is started by the checker, to watch it wait for READY=1.
systemctl enable --quiet shop.service sock.socket broken.service vault.service
install -m 0644 /e2e/e2e-check.service "$units/"
systemctl enable --quiet e2e-check.service

# The parity scenario runs runapp from an empty app directory: no virtualenv,
# no src, so runapp adds nothing of its own to the environment.
mkdir -p /e2e/parity-app
