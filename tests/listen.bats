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
