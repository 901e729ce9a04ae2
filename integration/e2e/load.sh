#!/bin/bash
# load.sh is called by check.sh: it measures what a restart and a reload
# cost the clients of a service, with a bounded load running (loadgen, built
# from integration/loadgen), and records raw facts under /results/load,
# judging nothing: integration/e2e_load_test.go asserts on them.
#
# For each PATH (socket-restart, socket-reload, tcp-restart, tcp-reload):
#   load/PATH.json       loadgen's result (requests failed by kind, longest
#                        wait, longest time without an answer)
#   load/PATH.seconds    how long the systemctl command took
#   load/PATH.rc         its exit status
#   load/PATH.pids       MainPID before and after, one per line
#   load/PATH.show       systemctl show of the service afterwards
#   units/UNIT.*         diagnostics, as check.sh records them
set -uo pipefail

source /e2e/lib.sh
mkdir -p "$R/load" "$R/units"
exec 2>"$R/load/trace"
set -x

# The load: 4 clients, a request every 25 ms each, 800 requests or 8
# seconds, whichever comes first; the command runs 1.5 s in.
LOAD=(-clients 4 -interval 25ms -requests 800 -duration 8s -timeout 10s)
LEAD=1.5

# measure PATH URL UNIT VERB: VERB (restart or reload) UNIT under load.
measure() {
	local path=$1 url=$2 unit=$3 verb=$4 load start
	systemctl show -P MainPID "$unit" >"$R/load/$path.pids"
	/usr/local/bin/loadgen -url "$url" "${LOAD[@]}" >"$R/load/$path.json" 2>"$R/load/$path.log" &
	load=$!
	sleep "$LEAD"
	start=$EPOCHREALTIME
	systemctl "$verb" "$unit"
	echo $? >"$R/load/$path.rc"
	elapsed "$start" >"$R/load/$path.seconds"
	wait "$load"
	systemctl show -P MainPID "$unit" >>"$R/load/$path.pids"
	systemctl show "$unit" >"$R/load/$path.show"
}

# settle: the workers a reload started are up before the next measurement.
settle() {
	sleep 2
}

curl -sS -o /dev/null --max-time 30 http://127.0.0.1:8095/pid
curl -sS -o /dev/null --max-time 30 http://127.0.0.1:8096/pid

measure socket-restart http://127.0.0.1:8095/pid lsock.service restart
settle
measure socket-reload http://127.0.0.1:8095/pid lsock.service reload
settle
measure tcp-restart http://127.0.0.1:8096/pid ltcp.service restart
settle
measure tcp-reload http://127.0.0.1:8096/pid ltcp.service reload

# runapp deploy, under the same load, on ldep (socket-activated). For each
# SCENARIO (code, env, broken):
#   deploy/SCENARIO.{out,err,rc,seconds}  runapp deploy's output, exit status
#                                         and how long it took
#   deploy/SCENARIO.json                  loadgen's result
#   deploy/SCENARIO.pids                  MainPID before and after
#   deploy/SCENARIO.{code,body,...}       a GET of / afterwards (get's facts)
# and deploy/env-dry.{out,err,rc}, deploy/tcp-dry.{out,err,rc}: --dry-run
# of a .env change on ldep and of a restart on ltcp (no socket);
# deploy/fail.{out,err,rc}: a change whose pre-flight fails.
mkdir -p "$R/deploy"

# deploy SCENARIO URL [MATCH]: runapp deploy ldep under load.
deploy() {
	local name=$1 load start
	systemctl show -P MainPID ldep.service >"$R/deploy/$name.pids"
	/usr/local/bin/loadgen -url "$2" -match "${3:-}" "${LOAD[@]}" >"$R/deploy/$name.json" 2>"$R/deploy/$name.log" &
	load=$!
	sleep "$LEAD"
	start=$EPOCHREALTIME
	/usr/bin/runapp deploy --unit ldep >"$R/deploy/$name.out" 2>"$R/deploy/$name.err"
	echo $? >"$R/deploy/$name.rc"
	elapsed "$start" >"$R/deploy/$name.seconds"
	wait "$load"
	systemctl show -P MainPID ldep.service >>"$R/deploy/$name.pids"
	curl -sS --max-time 30 -o "$R/deploy/$name.body" -w '%{http_code}\n' http://127.0.0.1:8097/ >"$R/deploy/$name.code"
	curl -sS --max-time 30 http://127.0.0.1:8097/pid >"$R/deploy/$name.pid-body"
}

curl -sS -o /dev/null --max-time 30 http://127.0.0.1:8097/pid
settle

# A code change: the pid view answers "v2 PID". Only a reload is needed.
sed -i 's|f"{os.getpid()}\\n"|f"v2 {os.getpid()}\\n"|' /srv/ldep/src/project/views.py
grep -c 'v2 ' /srv/ldep/src/project/views.py >"$R/deploy/code.edited"
/usr/bin/python3 -m compileall -q /srv/ldep/src
deploy code http://127.0.0.1:8097/pid 'v2 '
settle

# A .env change: SITE_NAME gets a new value, which only a restart applies.
sed -i "s/^SITE_NAME=.*/SITE_NAME='deployed site'/" /srv/ldep/.env
/usr/bin/runapp deploy --unit ldep --dry-run >"$R/deploy/env-dry.out" 2>"$R/deploy/env-dry.err"
echo $? >"$R/deploy/env-dry.rc"
deploy env http://127.0.0.1:8097/pid
settle

# A broken .env: deploy refuses it and leaves the running server alone.
cp -p /srv/ldep/.env /srv/ldep/.env.good
cat /e2e/broken.env >>/srv/ldep/.env
deploy broken http://127.0.0.1:8097/pid

# A .env that passes the checks but names settings that do not exist: the
# pre-flight fails, and deploy says why before it restarts anything.
cp -p /srv/ldep/.env.good /srv/ldep/.env
echo 'DJANGO_SETTINGS_MODULE=nope.settings' >>/srv/ldep/.env
/usr/bin/runapp deploy --unit ldep >"$R/deploy/fail.out" 2>"$R/deploy/fail.err"
echo $? >"$R/deploy/fail.rc"

# A restart of a unit without a socket: deploy warns (dry run only).
/usr/bin/runapp deploy --unit ltcp --restart --dry-run >"$R/deploy/tcp-dry.out" 2>"$R/deploy/tcp-dry.err"
echo $? >"$R/deploy/tcp-dry.rc"

keepunits lsock.socket lsock.service ltcp.service ldep.socket ldep.service
