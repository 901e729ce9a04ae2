#!/bin/bash
# busctl.sh records what busctl --json=short, through which internal/running
# reads systemd, writes for a service whose unit holds what deploy must read
# exactly: Environment= values with $, a backquote, a space and a newline,
# specifiers, EnvironmentFile=, UnsetEnvironment=, PassEnvironment=,
# LoadCredential=, ExecReload=/bin/kill -s HUP $MAINPID, and a manager
# environment set with set-environment. Kept apart from setup.sh and
# check.sh, which call it:
#
#   busctl.sh setup   (from setup.sh, before boot) writes bus@.service.
#   busctl.sh check   (from check.sh, booted) starts bus@fix.service and
#                     records under /results/busctl, judging nothing:
#                     internal/running/testdata/busctl holds a copy, which
#                     its tests decode.
set -uo pipefail

FACTS=/results/busctl
source /e2e/lib.sh
units=/etc/systemd/system

setup() {
	set -e
	printf '%s\n' "FROM_FILE='a file''s value'" >/etc/default/bus
	cat >"$units/bus@.service" <<-'UNIT'
		[Unit]
		Description=busctl's JSON for internal/running's tests
		[Service]
		ExecStart=/bin/sh -c "exec sleep infinity" /srv/%i
		ExecReload=/bin/kill -s HUP $MAINPID
		Environment="PRICE=costs $5" "TICK=a`date`b" "SPACE=a b" "NL=one\ntwo" APP=/srv/%i PLAIN=1
		EnvironmentFile=/etc/default/bus
		EnvironmentFile=-/etc/default/bus-missing
		UnsetEnvironment=LANG
		PassEnvironment=container
		LoadCredential=env:/etc/default/bus
	UNIT
}

# record NAME ARGS...: busctl --json=short ARGS into NAME.json, its errors
# into NAME.err, its exit status into NAME.rc.
record() {
	local name=$1
	shift
	busctl --json=short "$@" >"$FACTS/$name.json" 2>"$FACTS/$name.err"
	echo $? >"$FACTS/$name.rc"
}

check() {
	exec 2>>"$R/busctl-trace"
	set -x
	mkdir -p "$FACTS"
	busctl --version | head -1 | fact version
	systemctl set-environment "BUS_NOTE=UTC here" 'BUS_QUOTE=it'\''s $x `y`'
	systemctl start bus@fix.service
	local m=org.freedesktop.systemd1 p=/org/freedesktop/systemd1
	record load-unit call $m $p $m.Manager LoadUnit s bus@fix.service
	local path
	path=$(busctl call $m $p $m.Manager LoadUnit s bus@fix.service | cut -d'"' -f2)
	record unit call $m "$path" org.freedesktop.DBus.Properties GetAll s $m.Unit
	record service call $m "$path" org.freedesktop.DBus.Properties GetAll s $m.Service
	record manager-environment get-property $m $p $m.Manager Environment
	path=$(busctl call $m $p $m.Manager LoadUnit s idem.socket | cut -d'"' -f2)
	record listen get-property $m "$path" $m.Socket Listen
	record not-found call $m $p $m.Manager LoadUnit s no-such.service
	# Without a bus daemon: systemd's private socket.
	record private --address=unix:path=/run/systemd/private get-property $m $p $m.Manager Version
	systemctl show bus@fix.service | fact show
	systemctl unset-environment BUS_NOTE BUS_QUOTE
	systemctl stop bus@fix.service
}

case ${1:-} in
setup) setup ;;
check) check ;;
*)
	echo "usage: busctl.sh setup|check" >&2
	exit 2
	;;
esac
