#!/usr/bin/env bats
# HTTP/1.1 to the letter of RFC 9110 and 9112 where a peer's parser and
# ours could disagree: bodies HTTP does not have (1xx, 204, 304), chunk
# lines, fragments, methods, Host and the absolute form, Connection in
# HTTP/1.0, and a body that is malformed or cut off.  One server for the
# file; raw bytes.
load helpers

setup_file() {
	export DIR=$BATS_FILE_TMPDIR
	export PORT
	PORT=$(free_port)
	export ADDR=127.0.0.1:$PORT
	"$WSGI_CGI" --listen "$ADDR" --timeout 5 "$APPS/http_app.py" \
	    >>"$DIR/server.log" 2>&1 3>&- &
	echo $! >"$DIR/server.pid"
	wait_http "http://$ADDR/"
}

teardown_file() {
	stop_pid "$DIR/server.pid"
}

@test "http strict: a 204 or 304 body is dropped, never read as the next response" {
	for path in /304body /204body /304cl; do
		run raw "GET $path HTTP/1.1\\r\\nHost: a\\r\\n\\r\\nGET /x HTTP/1.1\\r\\nHost: a\\r\\nConnection: close\\r\\n\\r\\n"
		assert_success
		refute_output --partial 'PWNED'
		refute_output --partial 'HELLO'
		refute_output --partial 'X-Injected'
		# The next request's own answer comes right after the head.
		run grep -c '^HTTP/1.1 ' <<<"$output"
		assert_output 2
	done
	run raw 'GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' --wait 5
	assert_success
	wait_count 1 'GET /304body: a 304 response has no body: what the application returned for it is dropped$' "$DIR/server.log"
	wait_count 1 'GET /204body: a 204 response has no body' "$DIR/server.log"
}

@test "http strict: a malformed chunked body is a 400, never an application error" {
	local size
	for size in zz -5 +5 0x5 '' 6_0 ' 0' fffffffffffffffffffff 10000000000000005 '5\rx' '5\nx' '0 ' 'a ' '2 erfrferferf' '2;' '2;a="b'; do
		run raw "POST /echo HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n$size\\r\\nhello\\r\\n0\\r\\n\\r\\n"
		assert_success
		assert_line --index 0 'HTTP/1.1 400 Bad Request\r'
		assert_line '[closed]'
	done
	# Data not followed by CRLF.
	run raw 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX\r\n0\r\n\r\n'
	assert_success
	assert_line --index 0 'HTTP/1.1 400 Bad Request\r'
	run grep -c 'application error' "$DIR/server.log"
	assert_output 0
	run grep -c 'Traceback' "$DIR/server.log"
	assert_output 0
	assert_stderr_line_in_log 'HTTP: 400: a malformed chunked body: closing'
}

# assert_stderr_line_in_log TEXT: the server's log has a line ending TEXT.
assert_stderr_line_in_log() {
	run grep -c -- "$1\$" "$DIR/server.log"
	assert_success
	[ "$output" -ge 1 ]
}

@test "http strict: a client that leaves inside a chunked body is said so, not an application error" {
	# The first chunk is whole, the rest never comes.
	run raw 'POST /read HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1000\r\nabc' --wait 0.5
	assert_success
	assert_output ''
	wait_count 1 'POST /read: the client went away before the whole request body came: 400$' "$DIR/server.log"
	run grep -c 'BlockingIOError\|Traceback' "$DIR/server.log"
	assert_output 0
}

@test "http strict: fragments, method forms and a bare LF are answered 400 or 501" {
	run raw 'GET /a?page=1#x HTTP/1.1\r\nHost: a\r\n\r\n'
	assert_success
	assert_line --index 0 'HTTP/1.1 400 Bad Request\r'
	for m in get -BLARGH; do
		run raw "$m / HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n"
		assert_success
		assert_line --index 0 'HTTP/1.1 501 Not Implemented\r'
		assert_line '[closed]'
	done
	run raw '\nGET / HTTP/1.1\r\nHost: a\r\n\r\n'
	assert_success
	assert_line --index 0 'HTTP/1.1 400 Bad Request\r'
	# An upper-case method nobody registered is the application's.
	run raw 'BREW /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'
	assert_success
	assert_line --index 0 'HTTP/1.1 200 OK\r'
	assert_line 'REQUEST_METHOD=BREW'
}

@test "http strict: Host is host[:port]; an absolute target's authority wins over Host" {
	for host in 'a b/c@d' 'u@h' 'a:b' '[::1'; do
		run raw "GET / HTTP/1.1\\r\\nHost: $host\\r\\n\\r\\n"
		assert_success
		assert_line --index 0 'HTTP/1.1 400 Bad Request\r'
	done
	run raw 'GET http://evil.example:81/env?x HTTP/1.1\r\nHost: good.example\r\nConnection: close\r\n\r\n'
	assert_success
	assert_line --index 0 'HTTP/1.1 200 OK\r'
	assert_line 'SERVER_NAME=evil.example'
	assert_line 'SERVER_PORT=81'
	assert_line 'HTTP_HOST=evil.example:81'
	assert_line 'PATH_INFO=/env'
	assert_line 'REQUEST_URI=http://evil.example:81/env?x'
	run raw 'GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n'
	assert_success
	assert_line --index 0 'HTTP/1.1 400 Bad Request\r'
}

@test "http strict: in HTTP/1.0 a close wins over a keep-alive" {
	run raw 'GET /x HTTP/1.0\r\nConnection: close\r\nConnection: keep-alive\r\n\r\nGET /y HTTP/1.0\r\n\r\n'
	assert_success
	assert_line 'PATH_INFO=/x'
	refute_line 'PATH_INFO=/y'
	assert_line '[closed]'
}

@test "http strict: a trickled body has a bound on its whole time, not only on each stall" {
	# --timeout 5: a byte every half second keeps each stall short, and
	# 40 of them would take 20 seconds.
	for head in 'POST /read HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n' \
	    'POST /read HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n'; do
		: >"$DIR/server.log"
		run raw "$head$(printf 'x%.0s' $(seq 40))" --head-first --pieces 40 --delay 0.5 --wait 1
		assert_success
		assert_line '[closed]'
		wait_count 1 'the request took longer than the timeout to arrive: closing$' "$DIR/server.log"
	done
}

@test "http strict: a large body the app leaves unread is not drained: the connection closes" {
	run raw 'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\nabc' --wait 5
	assert_success
	assert_line --index 0 'HTTP/1.1 200 OK\r'
	assert_line '[closed]'
	# A chunked one that stops coming: closed after the response, quietly.
	: >"$DIR/server.log"
	run raw 'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n' --wait 5
	assert_success
	assert_line --index 0 'HTTP/1.1 200 OK\r'
	assert_line '[closed]'
	run grep -c 'closing$' "$DIR/server.log"
	assert_output 0
	# A small one left in the buffer is skipped: the connection goes on.
	run raw 'POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /y HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'
	assert_success
	assert_line 'PATH_INFO=/y'
}
