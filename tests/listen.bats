#!/usr/bin/env bats
# --listen's addresses: IPv6 ([::1]:PORT, and [::]:PORT, which takes IPv4
# clients too), the environ a client there sees; a bad one is a usage
# error.
load helpers

teardown() {
	if [ -n "${OWN_PID:-}" ]; then
		kill "$OWN_PID" 2>/dev/null || true
		wait "$OWN_PID" 2>/dev/null || true
	fi
}

# v6_port: a free port on ::1; the test is skipped (and fails under CI)
# when the machine has no IPv6 loopback.
v6_port() {
	"$PYTHON3" -c 'import socket
s = socket.socket(socket.AF_INET6)
s.bind(("::1", 0))
print(s.getsockname()[1])'
}

# listen_at HOST: the HTTP app on --listen [HOST]:$port, a port free on
# ::1 (port is the caller's); skipped without an IPv6 loopback.
listen_at() {
	port=$(v6_port) || skip "no IPv6 loopback on this machine"
	"$WSGI_CGI" --listen "[$1]:$port" "$APPS/http_app.py" \
	    2>"$BATS_TEST_TMPDIR/server.log" 3>&- &
	OWN_PID=$!
	wait_http "http://[::1]:$port/"
}

@test "listen: [::1]:PORT serves IPv6 clients; REMOTE_ADDR, SERVER_NAME and SERVER_PORT are theirs" {
	local port
	listen_at '::1'
	run curl -sS -g "http://[::1]:$port/env?q=1"
	assert_success
	assert_line 'REMOTE_ADDR=::1'
	# RFC 3875 4.1.14: an IPv6 server-name is in brackets.
	assert_line 'SERVER_NAME=[::1]'
	assert_line "SERVER_PORT=$port"
	assert_line "HTTP_HOST=[::1]:$port"
}

@test "listen: [::]:PORT takes IPv4 and IPv6 clients; an IPv4 one's REMOTE_ADDR is its IPv4 address" {
	local port
	listen_at '::'
	run curl -sS "http://127.0.0.1:$port/env"
	assert_success
	assert_line 'REMOTE_ADDR=127.0.0.1'
	run curl -sS -g "http://[::1]:$port/env"
	assert_success
	assert_line 'REMOTE_ADDR=::1'
}

@test "listen: an address that is not HOST:PORT, unix:PATH or /PATH is a usage error" {
	run "$WSGI_CGI" --listen '[::1]' "$APPS/http_app.py"
	assert_failure 2
	assert_output --partial 'not HOST:PORT, unix:PATH or /PATH'
	run "$WSGI_CGI" --listen 'no-such-host.invalid:80' "$APPS/http_app.py"
	assert_failure 2
	assert_output --partial '--listen no-such-host.invalid:80: '
}

# serve_two ARGS...: wsgi-cgi --listen DIR/s.sock --listen 127.0.0.1:$port
# ARGS, serving the concurrency app; port is the caller's.
serve_two() {
	port=$(free_port)
	"$WSGI_CGI" --listen "$BATS_TEST_TMPDIR/s.sock" \
	    --listen "127.0.0.1:$port" "$@" "$APPS/concurrent.py" \
	    2>"$BATS_TEST_TMPDIR/server.log" 3>&- &
	OWN_PID=$!
	wait_http "http://127.0.0.1:$port/flags"
}

# both_serve [RELOAD]: the Unix socket serves a gateway protocol, the TCP
# port HTTP and not a gateway protocol (HOST:PORT's default); with RELOAD,
# a SIGHUP comes while clients of both are sending, and none is refused.
both_serve() {
	local d=$BATS_TEST_TMPDIR st1 st2
	"$PYTHON3" "$TESTS/tools/concurrent.py" scgi "$d/s.sock" 4 25 \
	    >"$d/scgi.out" 2>&1 &
	local p1=$!
	"$PYTHON3" "$TESTS/tools/concurrent.py" http-close "127.0.0.1:$port" \
	    4 25 >"$d/http.out" 2>&1 &
	local p2=$!
	[ -z "${1:-}" ] || kill -HUP "$OWN_PID"
	wait "$p1" && st1=0 || st1=$?
	wait "$p2" && st2=0 || st2=$?
	run cat "$d/scgi.out" "$d/http.out"
	assert_success
	assert_output "ok 100
ok 100"
	[ "$st1" -eq 0 ] && [ "$st2" -eq 0 ] || fail "a client failed"
	run gw fastcgi "127.0.0.1:$port"
	assert_failure
}

@test "listen: --listen twice, one process: a Unix socket serves every protocol, HOST:PORT HTTP alone; a reload under load refuses no one" {
	local port st
	serve_two
	both_serve
	both_serve reload
	both_serve
	kill "$OWN_PID"
	wait "$OWN_PID" && st=0 || st=$?
	OWN_PID=
	[ "$st" -eq 0 ] || fail "exit status $st"
	# The socket file goes with the server that made it.
	[ ! -e "$BATS_TEST_TMPDIR/s.sock" ]
}

@test "listen: --listen twice, a master and two workers with two threads each; a reload under load refuses no one" {
	local port
	serve_two --workers 2 --threads 2
	both_serve
	both_serve reload
	both_serve
}

@test "listen: the same address twice, or a ninth, is a usage error" {
	local port
	port=$(free_port)
	run "$WSGI_CGI" --listen "127.0.0.1:$port" --listen "127.0.0.1:$port" \
	    "$APPS/http_app.py"
	assert_failure 2
	assert_output --partial "--listen 127.0.0.1:$port: Address already in use"
	run "$WSGI_CGI" --listen :1 --listen :2 --listen :3 --listen :4 \
	    --listen :5 --listen :6 --listen :7 --listen :8 --listen :9 \
	    "$APPS/http_app.py"
	assert_failure 2
	assert_output --partial '--listen: at most 8'
}
