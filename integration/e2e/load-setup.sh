# load-setup.sh is sourced by setup.sh (it uses its app function and
# variables): the apps of the restart and reload measurements under load
# (load.sh) and of runapp deploy's scenarios.

# lsock: socket-activated, as runapp unit writes it by default for one TCP
# bind; two workers; started at boot, so that the first request of a load
# does not start it.
app lsock
"$runapp" unit --app-dir /srv/lsock --user lsock --write "$units" \
	-- --bind 127.0.0.1:8095 --workers 2 project.wsgi
# ltcp: the same app listening itself, no socket unit.
app ltcp
"$runapp" unit --app-dir /srv/ltcp --user ltcp --socket none --write "$units" \
	-- --bind 127.0.0.1:8096 --workers 2 project.wsgi
systemctl enable --quiet lsock.socket lsock.service ltcp.service

# ldep: runapp deploy's scenarios (socket-activated by default, as lsock).
app ldep
"$runapp" unit --app-dir /srv/ldep --user ldep --write "$units" \
	-- --bind 127.0.0.1:8097 --workers 2 project.wsgi
systemctl enable --quiet ldep.socket ldep.service
