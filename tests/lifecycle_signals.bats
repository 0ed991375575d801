#!/usr/bin/env bats
# A server's life around its signals and its socket: a reload, a
# --max-requests renewal or a stop serves every connection it accepted;
# signals that come while it executes itself again are neither fatal nor
# lost; a Unix socket path belongs to one server.
load helpers

setup() {
	cp "$APPS/served.py" "$BATS_TEST_TMPDIR/app.py"
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	serve_stop
}

# http_up PORT ARGS...: the app over HTTP on 127.0.0.1:PORT.
http_up() {
	local port=$1
	shift
	"$WSGI_CGI" --listen "127.0.0.1:$port" "$@" app.py \
	    2>>server.log 3>&- &
	SERVER_PID=$!
	wait_http "http://127.0.0.1:$port/"
}

# served N: within 20 seconds the access log has N lines at least.
served() {
	local i
	for i in $(seq 200); do
		[ "$(grep -c '" 200 ' server.log)" -ge "$1" ] && return 0
		sleep 0.1
	done
	fail "fewer than $1 requests served: $(grep -c '" 200 ' server.log)"
}

@test "lifecycle signals: clients that send late lose nothing to SIGHUP or --max-requests 1" {
	local port
	port=$(free_port)
	for args in "--workers 2" "--workers 1" "--workers 2 --max-requests 1"; do
		: >server.log
		# shellcheck disable=SC2086
		http_up "$port" $args --access-log
		"$PYTHON3" "$TESTS/tools/lateload.py" "127.0.0.1:$port" 200 20 \
		    0.05 >load.out &
		load=$!
		served 20
		kill -HUP "$SERVER_PID"
		served 60
		kill -HUP "$SERVER_PID"
		wait "$load"
		run cat load.out
		assert_success
		assert_output '200 HTTP/1.1 200 OK'
		serve_stop
	done
}

@test "lifecycle signals: a storm of SIGHUPs never kills the server; a SIGTERM during a reload stops it" {
	local port
	port=$(free_port)
	for n in 1 2; do
		http_up "$port" --workers "$n"
		for i in $(seq 50); do
			kill -HUP "$SERVER_PID"
		done
		# Alive, and serving.
		wait_http "http://127.0.0.1:$port/"
		run kill -0 "$SERVER_PID"
		assert_success
		# A stop right behind a reload is not lost.
		kill -HUP "$SERVER_PID"
		kill -TERM "$SERVER_PID"
		rc=0
		wait "$SERVER_PID" || rc=$?
		assert_equal "$rc" 0
	done
}

@test "lifecycle signals: a live socket is not taken over; at exit a server removes only its own" {
	serve_start "$BATS_TEST_TMPDIR" app.py
	first=$SERVER_PID
	run --separate-stderr timeout 10 "$WSGI_CGI" --listen "$SOCK" app.py
	assert_failure 2
	assert_equal "$stderr" "wsgi-cgi: --listen $SOCK: a server answers on this socket already"
	run gw scgi "$SOCK" PATH_INFO=/pid
	assert_success
	assert_line --partial "$first "
	# The file replaced under the first: its exit leaves the new one.
	rm "$SOCK"
	serve_start "$BATS_TEST_TMPDIR" app.py
	second=$SERVER_PID
	kill -TERM "$first"
	wait "$first"
	[ -S "$SOCK" ]
	run gw scgi "$SOCK" PATH_INFO=/pid
	assert_success
	assert_line --partial "$second "
	serve_stop
	[ ! -e "$SOCK" ]
}
