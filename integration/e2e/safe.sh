#!/bin/bash
# safe.sh is the end-to-end suite's part for deploys that cannot take the
# site down (issue 18), kept apart from setup.sh and check.sh, which call it:
#
#   safe.sh setup   (from setup.sh, before boot) lays out three apps, each
#                   socket-activated as runapp unit writes it by default:
#     sdj  the example Django project under gunicorn (127.0.0.1:8101);
#     sapi a FastAPI app under uvicorn (127.0.0.1:8102): a reload is a
#          restart;
#     sfl  a Flask app under gunicorn (127.0.0.1:8103).
#   safe.sh check   (from check.sh, booted, after load.sh) runs runapp
#                   deploy on them under load.sh's bounded load and records
#                   raw facts under /results/safe/APP/SCENARIO.*;
#                   integration/e2e_safe_test.go judges them.
#
# For each deploy: SCENARIO.{out,err,rc,seconds} (runapp deploy's output,
# exit status, time), SCENARIO.json (loadgen's result on /pid),
# SCENARIO.pids (MainPID before and after), SCENARIO.pid-body (GET /pid
# afterwards: which code serves).
set -uo pipefail

FACTS=/results/safe
source /e2e/lib.sh
runapp=/usr/bin/runapp
units=/etc/systemd/system

# The app module whose code each scenario changes, and its port.
declare -A code=([sdj]=/srv/sdj/src/project/views.py [sapi]=/srv/sapi/src/api.py [sfl]=/srv/sfl/src/web.py)
declare -A port=([sdj]=8101 [sapi]=8102 [sfl]=8103)

setup() {
	set -e
	app sdj
	app sapi /e2e/example/.env /e2e/safe/api
	app sfl /e2e/example/.env /e2e/safe/flask
	local a
	for a in sdj sapi sfl; do
		# The release command's, and var/ the one place it may write.
		cp /e2e/safe/release.py "/srv/$a/"
		install -d -o "$a" -g "$a" "/srv/$a/var"
	done
	"$runapp" unit --app-dir /srv/sdj --user sdj --writable /srv/sdj/var --write "$units" \
		-- --bind 127.0.0.1:8101 --workers 2 project.wsgi
	"$runapp" unit --app-dir /srv/sapi --user sapi --writable /srv/sapi/var --server uvicorn --socket 8102 --write "$units" -- api:app
	"$runapp" unit --app-dir /srv/sfl --user sfl --writable /srv/sfl/var --write "$units" \
		-- --bind 127.0.0.1:8103 --workers 2 web:app
	systemctl enable --quiet sdj.socket sdj.service sapi.socket sapi.service sfl.socket sfl.service
}

# The load: load.sh's.
LOAD=(-clients 4 -interval 25ms -requests 800 -duration 8s -timeout 10s)
LEAD=1.5

# deploy APP SCENARIO [FLAGS...]: runapp deploy --unit APP under load on
# /pid.
deploy() {
	local app=$1 name=$2 f=$FACTS/$1/$2 load start
	shift 2
	mkdir -p "$FACTS/$app"
	systemctl show -P MainPID "$app.service" >"$f.pids"
	/usr/local/bin/loadgen -url "http://127.0.0.1:${port[$app]}/pid" "${LOAD[@]}" >"$f.json" 2>"$f.log" &
	load=$!
	sleep "$LEAD"
	start=$EPOCHREALTIME
	"$runapp" deploy --unit "$app" "$@" >"$f.out" 2>"$f.err"
	echo $? >"$f.rc"
	elapsed "$start" >"$f.seconds"
	wait "$load"
	systemctl show -P MainPID "$app.service" >>"$f.pids"
	curl -sS --max-time 30 "http://127.0.0.1:${port[$app]}/pid" >"$f.pid-body" 2>&1
}

# edit APP SED-SCRIPT: change the app's code, compiled as the service
# cannot (ProtectSystem=strict).
edit() {
	sed -i "$2" "${code[$1]}"
	/usr/bin/python3 -m compileall -q "/srv/$1/src"
}

# version APP V: the code's version, in /pid's answer.
version() {
	case $1 in
	sdj) edit sdj 's|f"[^{]*{os.getpid()}\\n"|f"'"$2"' {os.getpid()}\\n"|' ;;
	*) edit "$1" 's|^VERSION = .*|VERSION = "'"$2"'"|' ;;
	esac
}

check() {
	exec 2>>"$R/safe-trace"
	set -x
	local app
	for app in sdj sapi sfl; do
		mkdir -p "$FACTS/$app"
		# Every worker serves once before the code changes on disk: Django
		# imports the URL conf, and so the views, at a worker's first
		# request, and a worker that has not served yet would import the
		# new files, deploy or not (seen: 133 of 800 failed without this).
		/usr/local/bin/loadgen -url "http://127.0.0.1:${port[$app]}/pid" -clients 4 -interval 0 -requests 200 -duration 5s >"$FACTS/$app/warm.json" 2>&1
		cp -p "${code[$app]}" "${code[$app]}.good"

		# A module that raises at import: refused, the old code serves.
		version "$app" v2
		echo 'raise RuntimeError("broken at import")' >>"${code[$app]}"
		/usr/bin/python3 -m compileall -q "/srv/$app/src"
		deploy "$app" broken

		# The health path answers 500 where the server runs, and only
		# there: the view fails when the service's private /tmp has a
		# file, which the pre-flight's own /tmp has not. With uvicorn,
		# whose reload is a restart that empties that /tmp, an
		# ExecStartPre= (not run by the pre-flight) writes it.
		cp -p "${code[$app]}.good" "${code[$app]}"
		version "$app" v3
		edit "$app" '/^\(async \)\?def index/a\    if os.path.exists("/tmp/runapp-e2e-unhealthy"):\n        raise RuntimeError("unhealthy: the server has the marker")'
		if [[ $app == sapi ]]; then
			mkdir -p "$units/sapi.service.d"
			printf '[Service]\nExecStartPre=/bin/touch /tmp/runapp-e2e-unhealthy\n' >"$units/sapi.service.d/unhealthy.conf"
			# systemd 252 does not tell a new drop-in directory from
			# NeedDaemonReload=, and deploy would restart without it.
			systemctl daemon-reload
		else
			touch "/proc/$(systemctl show -P MainPID "$app.service")/root/tmp/runapp-e2e-unhealthy"
		fi
		deploy "$app" unhealthy
		systemctl show "$app.service" >"$FACTS/$app/unhealthy.show"
		curl -sS --max-time 30 -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:${port[$app]}/" >"$FACTS/$app/unhealthy.code"

		# Put it right: the good code, v4, and no marker.
		rm -f "$units/sapi.service.d/unhealthy.conf" "/proc/$(systemctl show -P MainPID "$app.service")/root/tmp/runapp-e2e-unhealthy"
		[[ $app != sapi ]] || systemctl daemon-reload
		cp -p "${code[$app]}.good" "${code[$app]}"
		version "$app" v4
		deploy "$app" good

		# A release command that fails: nothing is reloaded or restarted.
		version "$app" v5
		printf 'release: python release.py fail\n' >"/srv/$app/Procfile"
		deploy "$app" release-fail
		# One that succeeds runs before the switch, as the service user,
		# with the .env's values, and writes var/release; then v6 serves.
		version "$app" v6
		printf '# What runs before each deploy.\nrelease: python release.py\n' >"/srv/$app/Procfile"
		deploy "$app" release
		cp "/srv/$app/var/release" "$FACTS/$app/release.file"
		journalctl -u "$app.service" -o cat --no-pager | grep '^release: ' >"$FACTS/$app/release.journal"
		# --dry-run says it would run it; --no-release skips it.
		"$runapp" deploy --unit "$app" --dry-run >"$FACTS/$app/release-dry.out" 2>&1
		echo $? >"$FACTS/$app/release-dry.rc"
		"$runapp" deploy --unit "$app" --dry-run --no-release >"$FACTS/$app/no-release.out" 2>&1
		rm -f "/srv/$app/Procfile"
	done

	# Two deploys of one unit at once: the second waits for the first; a
	# third, with a --timeout shorter than the first takes, gives up. The
	# first holds the lock through its check, pre-flight (0.3 s or more)
	# and reload (as long): 200 ms, not 1 s, once it lost the race when
	# the first was done within a second.
	version sdj v7
	mkdir -p "$FACTS/sdj/two"
	"$runapp" deploy --unit sdj >"$FACTS/sdj/two/first.out" 2>"$FACTS/sdj/two/first.err" &
	local first=$!
	waitfor 30 grep -qx "$first" /run/lock/runapp-deploy-sdj.lock
	"$runapp" deploy --unit sdj >"$FACTS/sdj/two/second.out" 2>"$FACTS/sdj/two/second.err" &
	local second=$!
	"$runapp" deploy --unit sdj --timeout 200ms >"$FACTS/sdj/two/third.out" 2>"$FACTS/sdj/two/third.err"
	echo $? >"$FACTS/sdj/two/third.rc"
	wait "$first"
	echo $? >"$FACTS/sdj/two/first.rc"
	wait "$second"
	echo $? >"$FACTS/sdj/two/second.rc"
	curl -sS --max-time 30 http://127.0.0.1:8101/pid >"$FACTS/sdj/two/pid-body" 2>&1

	keepunits sdj.service sapi.service sfl.service
	echo ok | fact done
}

case ${1:-} in
setup) setup ;;
check) check ;;
*)
	echo "usage: safe.sh setup|check" >&2
	exit 2
	;;
esac
