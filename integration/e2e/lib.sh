# lib.sh holds the helpers every in-container script sources: to lay out
# apps, to record facts and to keep each unit's state for the Go test. Facts go under $FACTS (default /results), one per file; a script
# that keeps its facts apart sets FACTS to its own directory below it.

R=/results
: "${FACTS:=$R}"

# app NAME [ENV-FILE [SRC]]: /srv/NAME with SRC (default the example
# project's src) as its src, ENV-FILE (default the example's .env) as its
# .env and its own virtualenv, owned by root; the system user NAME may read
# but not write it.
app() {
	local name=$1 env=${2:-/e2e/example/.env} src=${3:-/e2e/example/src} dir=/srv/$1
	useradd --system --user-group --home-dir "$dir" --no-create-home \
		--shell /usr/sbin/nologin "$name"
	mkdir -p "$dir"
	cp -r "$src" "$dir/src"
	install -m 0640 -g "$name" "$env" "$dir/.env"
	/e2e/mkvenv "$dir/.venv" >/dev/null
	# The service cannot write bytecode under ProtectSystem=strict.
	/usr/bin/python3 -m compileall -q "$dir/src"
}

# fact NAME: stdin into $FACTS/NAME.
fact() {
	mkdir -p "$(dirname "$FACTS/$1")"
	cat >"$FACTS/$1"
}

# get URL NAME: the body into NAME.body, the status code into NAME.code,
# curl's total time into NAME.time and its complaints into NAME.err.
get() {
	mkdir -p "$(dirname "$FACTS/$2")"
	curl -sS --max-time 30 -o "$FACTS/$2.body" -w '%{http_code}\n%{time_total}\n' "$1" >"$FACTS/$2.curl" 2>"$FACTS/$2.err"
	sed -n 1p "$FACTS/$2.curl" | fact "$2.code"
	sed -n 2p "$FACTS/$2.curl" | fact "$2.time"
}

# waitfor SECONDS COMMAND...: poll COMMAND every 0.1s until it succeeds.
waitfor() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# procs UNIT: one line per process in UNIT's cgroup, tab-separated:
# pid, ppid, uid, comm, exe, cmdline (arguments joined by spaces).
procs() {
	local cg p
	cg=$(systemctl show -P ControlGroup "$1")
	for p in /proc/[0-9]*; do
		awk -F: -v cg="$cg" '$3 == cg { f = 1 } END { exit !f }' "$p/cgroup" 2>/dev/null || continue
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "${p#/proc/}" \
			"$(awk '/^PPid:/ { print $2 }' "$p/status")" \
			"$(awk '/^Uid:/ { print $2 }' "$p/status")" \
			"$(cat "$p/comm")" "$(readlink "$p/exe")" \
			"$(tr '\0' ' ' <"$p/cmdline")"
	done
}

# elapsed START: seconds since START, an $EPOCHREALTIME.
elapsed() {
	awk -v start="$1" -v now="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", now - start }'
}

# children PID: the PIDs of PID's children, sorted, one per line.
children() {
	cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | sed '/^$/d' | sort -n
}

# keepunits UNIT...: each UNIT's `systemctl cat`, status and journal into
# $R/units, where the Go test points when a subtest about it fails.
keepunits() {
	local unit
	mkdir -p "$R/units"
	for unit; do
		systemctl cat --no-pager "$unit" >"$R/units/$unit.cat" 2>&1
		systemctl status --no-pager -l "$unit" >"$R/units/$unit.status" 2>&1
		journalctl -b -u "$unit" -o short-monotonic --no-pager >"$R/units/$unit.journal" 2>&1
	done
}
