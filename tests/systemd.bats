#!/usr/bin/env bats
# systemd: socket activation (LISTEN_FDS, from systemd-socket-activate, as
# systemd passes a .socket unit's socket) and Type=notify (READY=1,
# RELOADING=1, STOPPING=1, STATUS=), each message caught by a datagram
# socket of the test's own.
load helpers

setup() {
	DIR=$BATS_TEST_TMPDIR
	cp "$APPS/concurrent.py" "$DIR/app.py"
}

# A test's own processes, stopped even when it fails.
teardown() {
	local p
	for p in ${OWN_PIDS:-}; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# notify_start: the listener on $DIR/notify; sets NOTIFY_SOCKET, MSGS.
notify_start() {
	MSGS=$DIR/messages
	: >"$MSGS"
	coproc NOTIFY { exec "$PYTHON3" "$TESTS/tools/notify_listen.py" \
	    "$DIR/notify" "$MSGS"; }
	OWN_PIDS="${OWN_PIDS:-} $NOTIFY_PID"
	read -r -t 10 line <&"${NOTIFY[0]}"
	[ "$line" = bound ] || fail "the notify listener did not start"
	export NOTIFY_SOCKET=$DIR/notify
}

# activated ARGS...: wsgi-cgi ARGS started by systemd-socket-activate on
# $LISTEN (an address or a path); sets PID (wsgi-cgi's, as exec keeps it).
activated() {
	systemd-socket-activate -E NOTIFY_SOCKET -l "$LISTEN" "$WSGI_CGI" "$@" \
	    2>>"$DIR/server.log" 3>&- &
	PID=$!
	OWN_PIDS="${OWN_PIDS:-} $PID"
}

# wait_connect HOST:PORT: a connection made (and closed, or reset by a
# program that ended at once), within 10 s.
wait_connect() {
	local i
	for i in $(seq 100); do
		"$PYTHON3" -c 'import socket, sys
h, p = sys.argv[1].rsplit(":", 1)
try:
    socket.create_connection((h, int(p)), timeout=1).close()
except ConnectionResetError:    # made, and closed by a program that ended
    pass' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "nothing listens on $1"
}

@test "systemd: a TCP socket from systemd serves HTTP alone; a reload keeps it" {
	local port
	port=$(free_port)
	LISTEN=127.0.0.1:$port
	activated --workers 2 "$DIR/app.py"
	wait_http "http://$LISTEN/flags"
	run curl -sS "http://$LISTEN/flags"
	assert_success
	assert_output --partial 'multiprocess=True'
	# A gateway protocol's request on it is refused, as on --listen HOST:PORT.
	run gw fastcgi "$LISTEN"
	assert_failure
	run grep -c 'which this address does not serve' "$DIR/server.log"
	assert_success
	# SIGHUP: executed again, the new image serves the same socket.
	kill -HUP "$PID"
	run "$PYTHON3" "$TESTS/tools/concurrent.py" http "$LISTEN" 4 25
	assert_success
	assert_output 'ok 100'
	run curl -sS "http://$LISTEN/flags"
	assert_success
	[ -z "${LISTEN_FDS:-}" ]
}

@test "systemd: a Unix socket from systemd serves every protocol; the application sees no LISTEN_ variables" {
	LISTEN=$DIR/s.sock
	printf 'import os\ndef application(e, sr):\n    sr("200 OK", [("Content-Type", "text/plain")])\n    return [repr(sorted(k for k in os.environ if k.startswith("LISTEN_"))).encode()]\n' >"$DIR/env.py"
	activated "$DIR/env.py"
	wait_for gw fastcgi "$LISTEN"
	run gw fastcgi "$LISTEN"
	assert_success
	assert_output --partial '[]'
	run curl -sS --unix-socket "$LISTEN" http://x/
	assert_success
	assert_output '[]'
}

# refused PORT ARGS...: systemd-socket-activate ARGS, with 127.0.0.1:PORT
# its first socket, started by a connection there; its program must exit
# 2.  Its stderr is in $output.
refused() {
	local port=$1 pid st
	shift
	# systemd-socket-activate executes the program at the first connection.
	systemd-socket-activate "$@" 2>"$DIR/refused.log" 3>&- &
	pid=$!
	OWN_PIDS="${OWN_PIDS:-} $pid"
	wait_connect "127.0.0.1:$port"
	wait "$pid" && st=0 || st=$?
	[ "$st" -eq 2 ] || fail "exit status $st, not 2"
	output=$(cat "$DIR/refused.log")
}

@test "systemd: two sockets from systemd are both served, each its protocols, and kept at a reload" {
	local port
	port=$(free_port)
	LISTEN=127.0.0.1:$port
	systemd-socket-activate -l "$DIR/s.sock" -l "$LISTEN" "$WSGI_CGI" \
	    --workers 2 "$DIR/app.py" 2>>"$DIR/server.log" 3>&- &
	PID=$!
	OWN_PIDS="${OWN_PIDS:-} $PID"
	wait_http "http://$LISTEN/flags"
	run gw fastcgi "$DIR/s.sock"
	assert_success
	run gw fastcgi "$LISTEN"
	assert_failure
	kill -HUP "$PID"
	run "$PYTHON3" "$TESTS/tools/concurrent.py" http "$LISTEN" 4 25
	assert_success
	assert_output 'ok 100'
	run "$PYTHON3" "$TESTS/tools/concurrent.py" scgi "$DIR/s.sock" 4 25
	assert_success
	assert_output 'ok 100'
}

@test "systemd: nine sockets, or one and --listen, are a usage error" {
	local p1 p2 i args=()
	p1=$(free_port)
	args=(-l "127.0.0.1:$p1")
	for i in 2 3 4 5 6 7 8 9; do
		args+=(-l "$DIR/s$i.sock")
	done
	refused "$p1" "${args[@]}" "$WSGI_CGI" "$DIR/app.py"
	assert_output --partial 'systemd passed 9 sockets: wsgi-cgi serves 1 to 8'
	p1=$(free_port)
	p2=$(free_port)
	refused "$p1" -l "127.0.0.1:$p1" "$WSGI_CGI" --listen "127.0.0.1:$p2" \
	    "$DIR/app.py"
	assert_output --partial 'and sockets from systemd (LISTEN_FDS): give one or the other'
}

@test "systemd: Type=notify, one process: READY=1 once it answers, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1" {
	local port
	notify_start
	port=$(free_port)
	"$WSGI_CGI" --listen "127.0.0.1:$port" "$DIR/app.py" \
	    2>>"$DIR/server.log" 3>&- &
	PID=$!
	OWN_PIDS="$OWN_PIDS $PID"
	wait_count 1 '^READY=1|STATUS=serving 127.0.0.1:' "$MSGS"
	# Ready means answering: no wait between the message and a request.
	run curl -sS "http://127.0.0.1:$port/flags"
	assert_success
	# STATUS=, once a second when it changed: what the board says.
	wait_count 1 "^STATUS=serving 127.0.0.1:$port: 0 of 1 worker busy, requests served: 1\$" "$MSGS"
	kill -HUP "$PID"
	wait_count 2 '^READY=1' "$MSGS"
	run curl -sS "http://127.0.0.1:$port/flags"
	assert_success
	kill -TERM "$PID"
	wait "$PID" || true
	run sh -c "grep -v '^STATUS=' '$MSGS' | cut -d'|' -f1"
	assert_success
	assert_output "$(printf 'READY=1\nRELOADING=1\nREADY=1\nSTOPPING=1')"
	run grep -c '^RELOADING=1|MONOTONIC_USEC=[0-9]*|STATUS=reloading$' "$MSGS"
	assert_success
	assert_output 1
}

@test "systemd: Type=notify, a master: it alone tells systemd, its workers do not" {
	notify_start
	LISTEN=$DIR/s.sock
	activated --workers 3 --threads 2 "$DIR/app.py"
	# The first connection starts it, and is answered.
	wait_for test -S "$LISTEN"
	run curl -sS --unix-socket "$LISTEN" http://x/flags
	assert_success
	wait_count 1 '^READY=1|STATUS=serving the socket from systemd with 3 workers of 2 threads$' "$MSGS"
	run curl -sS --unix-socket "$LISTEN" http://x/flags
	assert_success
	kill -HUP "$PID"
	wait_count 2 '^READY=1' "$MSGS"
	run "$PYTHON3" "$TESTS/tools/concurrent.py" http "$LISTEN" 4 10
	assert_success
	assert_output 'ok 40'
	# The workers' counts, summed by the master (the board began anew
	# with the reload).
	wait_count 1 '^STATUS=serving the socket from systemd: 0 of 6 threads busy (3 workers), requests served: 40$' "$MSGS"
	kill -TERM "$PID"
	wait "$PID" || true
	run sh -c "grep -v '^STATUS=' '$MSGS' | cut -d'|' -f1"
	assert_success
	assert_output "$(printf 'READY=1\nRELOADING=1\nREADY=1\nSTOPPING=1')"
}

@test "systemd: the unit files as shipped pass systemd-analyze verify" {
	mkdir -p "$DIR/units"
	sed "s|/usr/bin/wsgi-cgi|$WSGI_CGI|" "$TESTS/../systemd/wsgi-cgi@.service" \
	    >"$DIR/units/wsgi-cgi@demo.service"
	cp "$TESTS/../systemd/wsgi-cgi@.socket" "$DIR/units/wsgi-cgi@demo.socket"
	run systemd-analyze verify --man=no "$DIR/units/wsgi-cgi@demo.socket" \
	    "$DIR/units/wsgi-cgi@demo.service"
	assert_success
	assert_output ''
}
