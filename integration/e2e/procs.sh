#!/bin/bash
# procs.sh is the end-to-end suite's part for an app's processes (issue 17),
# kept apart from setup.sh and check.sh, which call it:
#
#   procs.sh setup   (from setup.sh, before boot) lays out /srv/procs, the
#                    example under example/procs (a Django site whose view
#                    enqueues a celery task, with beat and two manage.py jobs),
#                    and installs what runapp unit --procfile writes for it:
#                    procs.target and a unit per process type, the jobs on
#                    timers every 5 s (the record job lasts 8 s).
#   procs.sh check   (from check.sh, booted) starts procs.target, drives the
#                    units and records raw facts
#                    under /results/procs/; integration/e2e_procs_test.go
#                    judges them.
set -uo pipefail

FACTS=/results/procs
source /e2e/lib.sh
runapp=/usr/bin/runapp
units=/etc/systemd/system
all="procs-web.socket procs-web.service procs-worker.service procs-beat.service
	procs-record.timer procs-record.service procs-fail.timer procs-fail.service procs.target"

setup() {
	set -e
	app procs /e2e/example/procs/.env /e2e/example/procs/src
	cp /e2e/example/procs/Procfile /e2e/example/procs/manage.py /srv/procs/
	install -d -o procs -g procs -m 0750 /var/lib/procs
	"$runapp" unit --app-dir /srv/procs --procfile --user procs --writable /var/lib/procs \
		--every 'record=*:*:0/5' --every 'fail=*:*:0/5' --longest-task 1m \
		--after redis-server.service --wants redis-server.service \
		--write "$units" >/e2e/procs-unit.out 2>/e2e/procs-unit.err
	# The same app as "scaled", two instances of its worker; check starts
	# only those, once procs.target is stopped.
	"$runapp" unit --app-dir /srv/procs --procfile --name scaled --user procs --writable /var/lib/procs \
		--scale worker=2 --longest-task 1m --after redis-server.service --wants redis-server.service \
		--write "$units" >/e2e/scaled-unit.out 2>/e2e/scaled-unit.err
	# The timers' default AccuracySec= is a minute: 1 s keeps the 5 s period.
	for job in record fail; do
		mkdir -p "$units/procs-$job.timer.d"
		printf '[Timer]\nAccuracySec=1s\n' >"$units/procs-$job.timer.d/e2e.conf"
	done
	# Not enabled: check starts the app as one, so that its timers do not
	# run during the other scenarios' measurements.
}

# result ID NAME: the task's state through the web process, into NAME.
result() {
	get "http://127.0.0.1:8117/result?id=$1" "$2"
	grep -q '"SUCCESS"' "$FACTS/$2.body"
}

# enqueue SECONDS NAME: a task through the web process; prints its id.
enqueue() {
	get "http://127.0.0.1:8117/enqueue?s=$1" "$2"
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$FACTS/$2.body"
}

check() {
	exec 2>>"$R/procs-trace"
	set -x
	mkdir -p "$FACTS" "$R/units"
	cp /e2e/procs-unit.out "$FACTS/unit.out"
	cp /e2e/procs-unit.err "$FACTS/unit.err"
	systemctl start procs.target
	echo $? | fact start.rc
	ready() { journalctl -b -u procs-worker.service -o cat --no-pager | grep -q ' ready\.'; }
	waitfor 120 ready
	for u in $all; do systemctl show "$u" | fact "boot/$u.show"; done
	procs procs-worker.service | fact boot/worker.procs
	procs procs-beat.service | fact boot/beat.procs

	# A task enqueued by the web process, run by the worker with .env's
	# value, its result read back through the web process.
	id=$(enqueue 0 task/enqueue)
	waitfor 60 result "$id" task/result

	# No ExecReload=: systemd refuses the reload and the worker lives on.
	mkdir -p "$FACTS/reload"
	systemctl reload procs-worker.service 2>"$FACTS/reload/worker.err"
	echo $? | fact reload/worker.rc
	sleep 1
	systemctl show procs-worker.service | fact reload/worker.show

	# The timers: record (8 s) every 5 s, as the service user, with .env.
	runs() { [[ $(grep -c '^end' /var/lib/procs/record.log 2>/dev/null) -ge 3 ]]; }
	waitfor 90 runs
	cp /var/lib/procs/record.log "$FACTS/timer/record.log" 2>/dev/null || fact timer/record.log </var/lib/procs/record.log
	systemctl show procs-record.service | fact timer/record.show
	# Between two runs the failed job stays failed.
	waitfor 30 systemctl is-failed --quiet procs-fail.service
	systemctl show procs-fail.service | fact timer/fail.show
	systemctl list-units --failed --no-legend --plain | fact timer/failed
	journalctl -b -u procs-fail.service -p err -o cat --no-pager | fact timer/fail-err

	started() { [[ -e /var/lib/procs/started-$id ]]; }

	# runapp deploy --unit procs.target after a code change, while a 6 s
	# task runs: web reloaded, worker and beat restarted, the task finished
	# by the worker's warm shutdown, the timers' jobs left alone; then a
	# second deploy with nothing changed.
	for u in procs-web procs-worker procs-beat procs-record; do
		systemctl show "$u.service" | fact "deploy/before-$u.show"
	done
	# A view that raises at import: the web process's pre-flight refuses
	# it, and nothing of the app is switched.
	views=/srv/procs/src/procsite/views.py
	cp "$views" /var/tmp/views.py.orig
	echo 'raise RuntimeError("e2e: broken on purpose")' >>"$views"
	"$runapp" deploy --unit procs.target >"$FACTS/deploy/broken.out" 2>"$FACTS/deploy/broken.err"
	echo $? | fact deploy/broken.rc
	for u in procs-web procs-worker procs-beat; do
		systemctl show "$u.service" | fact "deploy/broken-$u.show"
	done
	cp /var/tmp/views.py.orig "$views"
	sed -i 's/JsonResponse({"id": task.id})/JsonResponse({"id": task.id, "code": "v2"})/' /srv/procs/src/procsite/views.py
	# --dry-run says what it would do, and does none of it.
	"$runapp" deploy --unit procs.target --dry-run >"$FACTS/deploy/dry.out" 2>"$FACTS/deploy/dry.err"
	echo $? | fact deploy/dry.rc
	for u in procs-web procs-worker procs-beat; do
		systemctl show "$u.service" | fact "deploy/dry-$u.show"
	done
	id=$(enqueue 6 deploy/enqueue)
	waitfor 60 started
	start=$EPOCHREALTIME
	"$runapp" deploy --unit procs.target >"$FACTS/deploy/out" 2>"$FACTS/deploy/err"
	echo $? | fact deploy/rc
	elapsed "$start" | fact deploy/seconds
	[[ -e /var/lib/procs/done-$id ]]
	echo $? | fact deploy/task-done
	waitfor 30 result "$id" deploy/result
	get "http://127.0.0.1:8117/enqueue?s=0" deploy/new
	for u in procs-web procs-worker procs-beat procs-record; do
		systemctl show "$u.service" | fact "deploy/after-$u.show"
	done
	start=$EPOCHREALTIME
	"$runapp" deploy --unit procs.target >"$FACTS/deploy/again.out" 2>"$FACTS/deploy/again.err"
	echo $? | fact deploy/again.rc
	elapsed "$start" | fact deploy/again.seconds
	for u in procs-web procs-worker; do
		systemctl show "$u.service" | fact "deploy/again-$u.show"
	done

	# systemctl stop procs.target while a 6 s task runs: the worker's warm
	# shutdown lets it finish, and every unit stops.
	id=$(enqueue 6 stop/enqueue)
	waitfor 60 started
	start=$EPOCHREALTIME
	systemctl stop procs.target
	echo $? | fact stop/rc
	elapsed "$start" | fact stop/stop-seconds
	[[ -e /var/lib/procs/done-$id ]]
	echo $? | fact stop/task-done
	for u in $all; do systemctl show -p ActiveState,SubState,Result "$u" | fact "stop/$u.show"; done
	journalctl -b -u procs-worker.service -o cat --no-pager | fact stop/worker.journal

	# --scale worker=2: two instances of one command, each with its own
	# node name, both answering celery's remote control.
	fact scale/unit.out </e2e/scaled-unit.out
	systemctl start scaled-worker@1.service scaled-worker@2.service
	echo $? | fact scale/start.rc
	scaled_ready() {
		journalctl -b -u scaled-worker@1.service -o cat --no-pager | grep -q ' ready\.' &&
			journalctl -b -u scaled-worker@2.service -o cat --no-pager | grep -q ' ready\.'
	}
	waitfor 120 scaled_ready
	hostname | fact scale/hostname
	"$runapp" exec --app-dir /srv/procs -- celery -A procsite inspect ping --timeout 10 >"$FACTS/scale/ping" 2>&1
	echo $? | fact scale/ping.rc
	systemctl stop scaled-worker@1.service scaled-worker@2.service
	keepunits scaled-worker@1.service scaled-worker@2.service

	keepunits $all
	echo ok | fact done
}

case ${1:-} in
setup) setup ;;
check) check ;;
*)
	echo "usage: procs.sh setup|check" >&2
	exit 2
	;;
esac
