#!/bin/bash
# check.sh is the in-container half of the end-to-end suite. e2e-check.service
# starts it once the system has booted; it drives the units setup.sh
# installed and records raw facts under /results, judging nothing: the Go
# test (integration/e2e_test.go) asserts on them. The machine powers off when
# it exits.
#
# Results contract, all under /results:
#   SCENARIO/FACT              one fact per file; *.show files hold
#                              `systemctl show` output (KEY=VALUE lines)
#   units/UNIT.{cat,status,journal}
#                              diagnostics for every unit the suite uses
#   journal.txt                the whole boot's journal
#   trace                      this script's xtrace
#   done                       written last: the checks ran to the end
set -uo pipefail # not -e: a probe that fails must not hide the others

source /e2e/lib.sh
exec 2>"$R/trace"
set -x


# How runapp was installed: from its package (setup.sh ran dpkg -i).
dpkg-query -W -f='${Status} ${Version}\n' runapp | fact install/status
dpkg-query -L runapp | fact install/files

# Scenario 5 first: nothing may have touched the socket yet.
systemctl show -p Id,ActiveState,SubState sock.socket sock.service | fact socket/at-boot.show

# Scenario 1: serve.
systemctl show shop.service | fact serve/shop.show
main=$(systemctl show -P MainPID shop.service)
procs shop.service | fact serve/procs
fact serve/status <"/proc/$main/status"
get http://127.0.0.1:80/ serve/index

# Scenario 2: readiness. shop.service is up; ready.service's gunicorn hook
# sleeps before READY=1, so the unit must stay activating meanwhile.
systemctl start --no-block ready.service
sleep 1
systemctl show -p ActiveState,SubState ready.service | fact readiness/during.show
systemctl start ready.service
systemctl show ready.service | fact readiness/ready.show
get http://127.0.0.1:8083/ readiness/index

# Scenario 3: reload.
children "$main" | fact reload/before
systemctl reload shop.service
echo $? | fact reload/rc
# gunicorn starts the new workers, then stops the old ones gracefully.
replaced() {
	local now
	now=$(children "$main")
	[[ $(wc -l <<<"$now") -eq $(wc -l <"$R/reload/before") ]] &&
		! grep -qxFf "$R/reload/before" <<<"$now"
}
waitfor 30 replaced
children "$main" | fact reload/after
systemctl show shop.service | fact reload/shop.show

# Scenario 9: sandbox, scored by the booted systemd itself.
systemd-analyze security --no-pager shop.service 2>&1 | fact sandbox/security

# Scenario 7: secrets at rest.
systemctl show vault.service | fact secrets/vault.show
get http://127.0.0.1:8082/ secrets/index
stat -c '%U:%G %a' /srv/vault/.env | fact secrets/stat
runuser -u vault -- cat /srv/vault/.env >/dev/null 2>"$R/secrets/read.err"
echo $? | fact secrets/read.rc

# Scenario 6: broken config. Give a restart loop time to show.
sleep 2
systemctl show broken.service | fact broken/broken.show
journalctl -b -u broken.service -p err -o cat --no-pager | fact broken/journal-err
canary=$(sed -n 's/^DB_PASSWORD=//p' /e2e/broken.env)
journalctl -b -o json --no-pager | grep -cF "$canary" | fact broken/canary-count

# Scenario 5: the first request starts the service.
get http://127.0.0.1:8081/ socket/index
systemctl show sock.service | fact socket/sock.show
ss -Hltnp 'sport = :8081' | fact socket/ss
fact socket/status <"/proc/$(systemctl show -P MainPID sock.service)/status"

# Scenario 8: parity of EnvironmentFile= and runapp on the accepted corpus.
mkdir -p "$R/parity"
for f in /e2e/parity/*.env; do
	[[ -e $f ]] || continue
	name=$(basename "$f" .env)
	systemd-run --quiet --wait --pipe --collect -p EnvironmentFile="$f" \
		/usr/bin/env -0 </dev/null >"$R/parity/$name.systemd"
	systemd-run --quiet --wait --pipe --collect \
		/usr/bin/runapp exec --app-dir /e2e/parity-app --env-file "$f" -- /usr/bin/env -0 \
		</dev/null >"$R/parity/$name.runapp" 2>"$R/parity/$name.runapp-err"
done

# Entrypoint: runapp as PID 1 of a new PID namespace, stopped by SIGTERM
# during a slow request, as `docker stop` would.
unshare --pid --fork --mount-proc /usr/bin/runapp --app-dir /srv/shop \
	-- --bind 127.0.0.1:8090 --workers 1 project.wsgi >"$R/entrypoint.log" 2>&1 &
outer=$!
waitfor 30 curl -sf -o /dev/null http://127.0.0.1:8090/
pid1=$(children "$outer")
grep '^NSpid:' "/proc/$pid1/status" | fact entrypoint/nspid
tr '\0' ' ' <"/proc/$pid1/cmdline" | fact entrypoint/cmdline
get 'http://127.0.0.1:8090/slow?s=3' entrypoint/slow &
request=$!
waitfor 10 grep -q 'slow: worker' "$R/entrypoint.log"
start=$EPOCHREALTIME
kill -TERM "$pid1"
wait "$outer"
echo $? | fact entrypoint/rc
elapsed "$start" | fact entrypoint/stop-seconds
wait "$request"

# Restarts and reloads under load: load.sh records under /results/load.
bash /e2e/load.sh

# Scenario 4 last, as it ends shop.service: stop during a slow request.
get 'http://127.0.0.1:80/slow?s=5' stop/slow &
request=$!
slow_started() { journalctl -b -u shop.service -o cat --no-pager | grep -q 'slow: worker'; }
waitfor 10 slow_started
start=$EPOCHREALTIME
systemctl stop shop.service
elapsed "$start" | fact stop/stop-seconds
wait "$request"
systemctl show shop.service | fact stop/shop.show

/e2e/asgi.sh check # the ASGI servers' scenarios (issue 13)
/e2e/safe.sh check # deploys that cannot take the site down (issue 18)
/e2e/idem.sh check # runapp deploy's idempotence (issue 20)
/e2e/procs.sh check # an app's processes (issue 17)
/e2e/busctl.sh check # busctl's JSON, for internal/running's tests
keepunits shop.service ready.service sock.socket sock.service broken.service vault.service
journalctl -b -o short-monotonic --no-pager >"$R/journal.txt"
systemd-analyze time --no-pager | fact boot-time
echo ok | fact done
