#!/bin/bash
# idem.sh is the end-to-end suite's part for runapp deploy's idempotence
# (issue 20), kept apart from setup.sh and check.sh, which call it:
#
#   idem.sh setup   (from setup.sh, before boot) lays out two apps:
#     idem      the example project behind a socket unit (8098), as
#               runapp unit writes it;
#     tpl@dep   a template, tpl@.service, whose instance dep runs
#               /srv/%i as User=%i on 127.0.0.1:8099.
#   idem.sh check   (from check.sh, booted) changes the unit one way after
#                   another, each way one that systemd gives the service's
#                   environment or reload, and deploys twice: the first
#                   deploy applies the change, the second, with nothing
#                   changed, must not restart. It records raw facts under
#                   /results/idem; integration/e2e_idem_test.go judges them.
#
# For each STEP: idem/STEP.{first,second}.{out,err,rc} (runapp deploy's
# output and exit status) and idem/STEP.pids (MainPID before and after the
# second deploy); idem/check.{json,err,rc}: runapp check --format json on
# idem at the end;
# idem/steps: the steps in order.
set -uo pipefail

FACTS=/results/idem
source /e2e/lib.sh
runapp=/usr/bin/runapp
units=/etc/systemd/system

setup() {
	set -e
	app idem
	"$runapp" unit --app-dir /srv/idem --user idem --write "$units" \
		-- --bind 127.0.0.1:8098 --workers 2 project.wsgi
	app dep
	"$runapp" unit --app-dir /srv/dep --user dep --socket none --write /e2e \
		-- --bind 127.0.0.1:8099 --workers 2 project.wsgi
	# The instance's name stands for the app: its directory and its user.
	sed -e 's|/srv/dep|/srv/%i|g' -e 's|^User=dep$|User=%i|' -e 's|^Group=dep$|Group=%i|' \
		/e2e/dep.service >"$units/tpl@.service"
	grep -q '^User=%i$' "$units/tpl@.service"
	grep -q -- '--app-dir /srv/%i' "$units/tpl@.service"
	# Only the socket at boot: the service starts when idem.sh check starts
	# it, and adds nothing to the load of the other scenarios before.
	systemctl enable --quiet idem.socket
}

# dropin UNIT NAME: stdin as the drop-in NAME.conf of UNIT.
dropin() {
	mkdir -p "$units/$1.d"
	cat >"$units/$1.d/$2.conf"
}

# step NAME UNIT: deploy UNIT twice (see the top).
step() {
	local name=$1 unit=$2
	echo "$name" >>"$FACTS/steps"
	"$runapp" deploy --unit "$unit" >"$FACTS/$name.first.out" 2>"$FACTS/$name.first.err"
	echo $? >"$FACTS/$name.first.rc"
	systemctl show -P MainPID "$unit" >"$FACTS/$name.pids"
	"$runapp" deploy --unit "$unit" >"$FACTS/$name.second.out" 2>"$FACTS/$name.second.err"
	echo $? >"$FACTS/$name.second.rc"
	systemctl show -P MainPID "$unit" >>"$FACTS/$name.pids"
}

check() {
	exec 2>>"$R/idem-trace"
	set -x
	mkdir -p "$FACTS" "$R/units"
	systemctl start idem.service
	curl -sS -o /dev/null --max-time 30 http://127.0.0.1:8098/

	step start idem
	# $ and a backquote in Environment=, which systemctl show quotes.
	dropin idem.service 10-dollar <<-'CONF'
		[Service]
		Environment="PRICE=costs $5" "TICK=a`date`b" PLAIN=1
	CONF
	systemctl daemon-reload
	step dollar idem
	# The manager's environment, a value with a space.
	systemctl set-environment "TZ_NOTE=UTC here"
	step set-environment idem
	# An operator's /etc/default/NAME, and an optional file that is not there.
	printf '%s\n' "EXTRA='from /etc/default'" 'LEVEL=3' >/etc/default/idem
	dropin idem.service 20-default <<-'CONF'
		[Service]
		EnvironmentFile=/etc/default/idem
		EnvironmentFile=-/etc/default/idem-missing
	CONF
	systemctl daemon-reload
	step environment-file idem
	dropin idem.service 30-unset <<-'CONF'
		[Service]
		UnsetEnvironment=LANG TZ_NOTE
	CONF
	systemctl daemon-reload
	step unset idem
	# nspawn gives PID 1 container=systemd-nspawn.
	dropin idem.service 40-pass <<-'CONF'
		[Service]
		PassEnvironment=container
	CONF
	systemctl daemon-reload
	step pass idem
	# gunicorn's documented ExecReload=, and the -SIGHUP form.
	dropin idem.service 50-reload <<-'CONF'
		[Service]
		ExecReload=
		ExecReload=/bin/kill -s HUP $MAINPID
	CONF
	systemctl daemon-reload
	step kill-s-hup idem
	dropin idem.service 50-reload <<-'CONF'
		[Service]
		ExecReload=
		ExecReload=/bin/kill -SIGHUP $MAINPID
	CONF
	systemctl daemon-reload
	step kill-sighup idem
	# A real change still restarts, with its true reason.
	sed -i "s/^SITE_NAME=.*/SITE_NAME='changed site'/" /srv/idem/.env
	step change idem
	(cd /srv/idem && "$runapp" check --format json >"$FACTS/check.json" 2>"$FACTS/check.err"; echo $? >"$FACTS/check.rc")

	# A template instance: /srv/%i and User=%i, as systemd expands them.
	systemctl start tpl@dep.service
	curl -sS -o /dev/null --max-time 30 http://127.0.0.1:8099/
	step template tpl@dep
	systemctl show -p User,WorkingDirectory,ExecStart tpl@dep.service >"$FACTS/template.show"

	keepunits idem.socket idem.service tpl@dep.service
	echo ok | fact done
}

case ${1:-} in
setup) setup ;;
check) check ;;
*)
	echo "usage: idem.sh setup|check" >&2
	exit 2
	;;
esac
