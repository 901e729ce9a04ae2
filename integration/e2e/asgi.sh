#!/bin/bash
# asgi.sh is the end-to-end suite's part for the ASGI servers (issue 13),
# kept apart from setup.sh and check.sh, which call it:
#
#   asgi.sh setup   (from setup.sh, before boot) lays out two apps and
#                   installs the units `runapp unit` writes for them:
#     dj   the example Django project's asgi.py under uvicorn, behind a
#          socket unit (dj.socket on 8091), with no SERVER-ARGS: the unit
#          gives uvicorn --fd 3 and runapp finds project.asgi:application;
#     api  the example FastAPI app under gunicorn with uvicorn's workers,
#          on 127.0.0.1:8092.
#   asgi.sh check   (from check.sh, booted) drives them and records raw
#                   facts under /results/asgi/{dj,api}/, as check.sh does;
#                   integration/e2e_asgi_test.go judges them.
set -uo pipefail

FACTS=/results/asgi
source /e2e/lib.sh
runapp=/usr/bin/runapp
units=/etc/systemd/system

# asgiapp NAME SRC ENV: lib.sh's app with SRC as its src, and bin/uvicorn in
# its virtualenv, as mkvenv writes it when python3-uvicorn is installed.
asgiapp() {
	app "$1" "$3" "$2"
	[[ -x /srv/$1/.venv/bin/uvicorn ]] || {
		echo "asgi.sh: no uvicorn in /srv/$1/.venv: is python3-uvicorn in scripts/mkroot's list?" >&2
		return 1
	}
}

setup() {
	set -e
	asgiapp dj /e2e/example/src /e2e/example/.env
	asgiapp api /e2e/example/fastapi/src /e2e/example/fastapi/.env
	"$runapp" unit --app-dir /srv/dj --user dj --server uvicorn --socket 8091 \
		--write "$units" 2>"$units/.dj-unit.err"
	"$runapp" unit --app-dir /srv/api --user api --write "$units" \
		-- -k uvicorn.workers.UvicornWorker --workers 2 --bind 127.0.0.1:8092 api:app
	# What runapp unit said on stderr: nothing, for servers in its table.
	mv "$units/.dj-unit.err" /e2e/dj-unit.err
	systemctl enable --quiet dj.socket api.service
}

# reload UNIT DIR: systemctl reload, its exit code and message.
reload() {
	systemctl reload "$1" 2>"$FACTS/$2/reload.err"
	echo $? | fact "$2/reload.rc"
}

# stop UNIT DIR URL: systemctl stop while URL (a slow view) is in flight.
stop() {
	local unit=$1 dir=$2 url=$3 request start
	get "$url" "$dir/slow" &
	request=$!
	in_flight() { journalctl -b -u "$unit" -o cat --no-pager | grep -q 'slow: worker'; }
	waitfor 20 in_flight
	start=$EPOCHREALTIME
	systemctl stop "$unit"
	elapsed "$start" | fact "$dir/stop-seconds"
	wait "$request"
	systemctl show "$unit" | fact "$dir/stopped.show"
}

check() {
	exec 2>>"$R/asgi-trace"
	set -x
	mkdir -p "$FACTS/dj" "$FACTS/api" "$R/units"
	cp /e2e/dj-unit.err "$FACTS/dj/unit.err"

	# dj: socket activation. Nothing has connected yet: only the socket.
	systemctl show -p ActiveState dj.service | fact dj/at-boot.show
	get http://127.0.0.1:8091/ dj/index
	systemctl show dj.service | fact dj/serve.show
	procs dj.service | fact dj/procs
	reload dj.service dj
	sleep 1
	get http://127.0.0.1:8091/ dj/after-reload
	systemctl show dj.service | fact dj/reload.show
	stop dj.service dj 'http://127.0.0.1:8091/async/slow?s=3'

	# api: gunicorn's master with uvicorn's workers.
	systemctl show api.service | fact api/serve.show
	main=$(systemctl show -P MainPID api.service)
	procs api.service | fact api/procs
	get http://127.0.0.1:8092/ api/index
	children "$main" | fact api/reload-before
	reload api.service api
	replaced() {
		local now
		now=$(children "$main")
		[[ $(wc -l <<<"$now") -eq $(wc -l <"$FACTS/api/reload-before") ]] &&
			! grep -qxFf "$FACTS/api/reload-before" <<<"$now"
	}
	waitfor 30 replaced
	children "$main" | fact api/reload-after
	get http://127.0.0.1:8092/ api/after-reload
	systemctl show api.service | fact api/reload.show
	stop api.service api 'http://127.0.0.1:8092/slow?s=3'

	keepunits dj.socket dj.service api.service
	echo ok | fact done
}

case ${1:-} in
setup) setup ;;
check) check ;;
*)
	echo "usage: asgi.sh setup|check" >&2
	exit 2
	;;
esac
