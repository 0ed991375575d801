#!/usr/bin/env bats
# HTTP/1.1: --listen HOST:PORT serves a browser or a reverse proxy.  One
# server for the file; raw bytes for framing and hostile requests.
load helpers

setup_file() {
	export DIR=$BATS_FILE_TMPDIR
	export PORT
	PORT=$(free_port)
	export ADDR=127.0.0.1:$PORT
	"$WSGI_CGI" --listen "$ADDR" --workers 2 --timeout 2 --access-log \
	    "$APPS/http_app.py" >>"$DIR/server.log" 2>&1 3>&- &
	echo $! >"$DIR/server.pid"
	wait_http "http://$ADDR/"
}

teardown_file() {
	stop_pid "$DIR/server.pid"
}

@test "http: GET, HEAD, the environ of PEP 3333, Date, keep-alive" {
	run curl -sS -i "http://$ADDR/a%20b/c?x=%20y&z"
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_line --regexp $'^Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} 20[0-9]{2} [0-9:]{8} GMT\r$'
	assert_line 'REQUEST_METHOD=GET'
	assert_line 'SCRIPT_NAME='
	assert_line 'PATH_INFO=/a b/c'
	assert_line 'QUERY_STRING=x=%20y&z'
	assert_line 'REQUEST_URI=/a%20b/c?x=%20y&z'
	assert_line 'SERVER_PROTOCOL=HTTP/1.1'
	assert_line 'SERVER_NAME=127.0.0.1'
	assert_line "SERVER_PORT=$PORT"
	assert_line 'REMOTE_ADDR=127.0.0.1'
	run raw 'HEAD /x HTTP/1.1\r\nHost: h\r\n\r\nGET /stream HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'
	# HEAD: the length the body would have had, no body; then the next.
	assert_line --index 0 'HTTP/1.1 200 OK\r'
	assert_line --partial 'Content-Length: '
	refute_line 'REQUEST_METHOD=HEAD'
	assert_line 'Transfer-Encoding: chunked\r'
	assert_line 'Connection: close\r'
	assert_line '4\r'
	assert_line 'one'
	assert_line '0\r'
	assert_line '[closed]'
}

@test "http: pipelined requests are answered in order on one connection" {
	run raw 'GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\nPOST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /4 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'
	# (The echoed body has no newline: the next status line follows it.)
	assert_equal "$(grep -o 'HTTP/1.1 200 OK' <<<"$output" | wc -l)" 4
	assert_equal "$(grep -o 'PATH_INFO=/.\|helloHTTP' <<<"$output" |
	    tr '\n' ' ')" 'PATH_INFO=/1 PATH_INFO=/2 helloHTTP PATH_INFO=/4 '
	assert_line '[closed]'
}

@test "http: HTTP/1.0 gets no chunks: the close ends the body; keep-alive on request" {
	run raw 'GET /stream HTTP/1.0\r\n\r\n'
	assert_line --index 0 'HTTP/1.1 200 OK\r'
	refute_line --partial 'Transfer-Encoding'
	assert_line 'Connection: close\r'
	assert_line 'one'
	assert_line '[closed]'
	run raw 'GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /y HTTP/1.0\r\n\r\n'
	assert_line 'Connection: keep-alive\r'
	assert_line 'PATH_INFO=/y'
	assert_line '[closed]'
}

@test "http: chunked uploads with extensions and trailers; Expect: 100-continue" {
	run raw 'POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;name=val\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\nGET /z HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n' --pieces 7
	assert_line 'hello worldHTTP/1.1 200 OK\r'
	assert_line 'PATH_INFO=/z'
	run raw 'POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
	assert_line 'wsgi.input_terminated=True'
	assert_line 'CONTENT_LENGTH=-'
	run raw 'POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'
	assert_line --index 0 'HTTP/1.1 100 Continue\r'
	assert_line --index 2 'HTTP/1.1 200 OK\r'
	# 50 MB through curl, chunked, by sha256.
	head -c 50000000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	run curl -sS -H 'Transfer-Encoding: chunked' --data-binary \
	    "@$BATS_TEST_TMPDIR/big" "http://$ADDR/echo"
	assert_equal "$(sha256sum <<<"$output" | cut -c1-64)" \
	    "$(sha256sum <"$BATS_TEST_TMPDIR/big" | cut -c1-64)" || true
	curl -sS -H 'Transfer-Encoding: chunked' --data-binary \
	    "@$BATS_TEST_TMPDIR/big" "http://$ADDR/echo" |
	    sha256sum | cut -c1-64 >"$BATS_TEST_TMPDIR/got"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/got")" \
	    "$(sha256sum <"$BATS_TEST_TMPDIR/big" | cut -c1-64)"
}

@test "http: an unread body is skipped, and the next request is read where it starts" {
	run raw 'POST /ignore HTTP/1.1\r\nHost: h\r\nContent-Length: 30\r\n\r\nGET /smuggled HTTP/1.1\r\nX: 1\r\nGET /next HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'
	assert_equal "$(grep -c '^HTTP/1.1 200 OK' <<<"$output")" 2
	refute_line 'PATH_INFO=/smuggled'
	assert_line 'PATH_INFO=/next'
}

# refused STATUS BYTES: answered STATUS, and the connection closed.
refused() {
	local want=$1
	shift
	run raw "$@"
	assert_line --index 0 "HTTP/1.1 $want"
	assert_line 'Connection: close\r'
	assert_line '[closed]'
	refute_line --partial 'REQUEST_METHOD='
}

@test "http: smuggling shapes are a 400 and a closed connection" {
	refused '400 Bad Request\r' 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
	refused '400 Bad Request\r' 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd'
	refused '400 Bad Request\r' 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n'
	refused '501 Not Implemented\r' 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n'
	refused '400 Bad Request\r' 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n'
	refused '400 Bad Request\r' 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
	refused '400 Bad Request\r' 'GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n'
	refused '400 Bad Request\r' 'GET / HTTP/1.1\r\nHost : h\r\n\r\n'
	refused '400 Bad Request\r' 'GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n'
	refused '400 Bad Request\r' 'GET / HTTP/1.1\nHost: h\n\n'
	refused '400 Bad Request\r' 'GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n'
	refused '400 Bad Request\r' 'G@T / HTTP/1.1\r\nHost: h\r\n\r\n'
	refused '400 Bad Request\r' 'GET / HTTP/1.1\r\n\r\n'
	refused '400 Bad Request\r' 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'
	refused '505 HTTP Version Not Supported\r' 'GET / HTTP/2.0\r\nHost: h\r\n\r\n'
	refused '417 Expectation Failed\r' 'GET / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n'
}

@test "http: a bad chunk closes the connection; limits are 414 and 431" {
	run raw 'POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n'
	refute_line 'PATH_INFO=/after'
	assert_line '[closed]'
	refused '414 URI Too Long\r' "GET /$(head -c 9000 /dev/zero | tr '\0' a) HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n"
	refused '431 Request Header Fields Too Large\r' "GET / HTTP/1.1\\r\\nHost: h\\r\\n$(for i in $(seq 101); do printf 'X-%d: 1\\r\\n' "$i"; done)\\r\\n"
	# The server goes on, and says why in its log.
	run curl -sS "http://$ADDR/ok"
	assert_line 'PATH_INFO=/ok'
	run grep -c 'HTTP: 400: ' "$DIR/server.log"
	[ "$output" -ge 1 ]
}

@test "http: --access-log writes a line per request in the Common Log Format" {
	curl -sS -o /dev/null "http://$ADDR/logged?q=1"
	run grep -E '^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/20[0-9]{2}:[0-9:]{8} \+0000\] "GET /logged\?q=1 HTTP/1\.1" 200 [0-9]+ [0-9]+\.[0-9]{6}$' "$DIR/server.log"
	assert_success
}

@test "http: hop-by-hop headers from the app are still refused (500)" {
	run curl -sS -i "http://$ADDR/hop"
	assert_line --index 0 $'HTTP/1.1 500 Internal Server Error\r'
}

@test "http: a response shorter than its Content-Length ends the connection" {
	run raw 'GET /short HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n'
	assert_line 'abc'
	assert_line '[closed]'
	refute_line 'PATH_INFO=/next'
}

@test "http: an idle keep-alive connection closes at the timeout; a slow head too" {
	# --timeout 2: a kept connection left idle ends without a log line.
	run raw 'GET /x HTTP/1.1\r\nHost: h\r\n\r\n' --wait 5
	assert_line 'PATH_INFO=/x'
	assert_line '[closed]'
	run raw 'GET /x HTTP/1.1\r\nHo' --wait 5
	assert_line '[closed]'
	refute_line --partial 'HTTP/1.1'
	# A head that trickles in, a byte at a time, has the same 2 seconds.
	run raw 'GET /x HTTP/1.1\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\nX-D: 4\r\nX-E: 5\r\nX-F: 6\r\nHost: h\r\n\r\n' --pieces 80 --delay 0.05 --wait 5
	assert_line '[closed]'
	refute_line --partial 'HTTP/1.1'
	run grep -Ec 'no whole request within the timeout|stopped sending' "$DIR/server.log"
	[ "$output" -ge 1 ]
}

@test "http: a client that never reads a large response is dropped after --timeout" {
	"$PYTHON3" - "$PORT" <<-'PY' >"$BATS_TEST_TMPDIR/got"
	import socket, sys, time
	s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
	s.sendall(b'GET /big HTTP/1.1\r\nHost: h\r\n\r\n')
	time.sleep(5)
	s.settimeout(10)
	n = 0
	while True:
	    b = s.recv(1 << 20)
	    if not b:
	        break
	    n += len(b)
	print(n)
	PY
	# Less than the 50 MB: the write gave up, and the connection closed.
	[ "$(cat "$BATS_TEST_TMPDIR/got")" -lt 52428800 ]
	run grep -c 'GET /big: cannot write the response: Connection timed out' \
	    "$DIR/server.log"
	assert_output 1
}

@test "http: wsgi.file_wrapper: a file (sendfile, its size found if not given) and a file-like object (chunked), whole by sha256" {
	head -c 20000000 /dev/urandom >"$BATS_TEST_TMPDIR/blob"
	want=$(sha256sum <"$BATS_TEST_TMPDIR/blob" | cut -c1-64)
	for path in file file-unsized filelike; do
		curl -sS -D "$BATS_TEST_TMPDIR/head" \
		    "http://$ADDR/$path?$BATS_TEST_TMPDIR/blob" |
		    sha256sum | cut -c1-64 >"$BATS_TEST_TMPDIR/got"
		assert_equal "$(cat "$BATS_TEST_TMPDIR/got")" "$want"
		run cat "$BATS_TEST_TMPDIR/head"
		if [ "$path" = filelike ]; then
			assert_line $'Transfer-Encoding: chunked\r'
		else
			assert_line $'Content-Length: 20000000\r'
		fi
	done
	# HTTP/1.0: no chunks; the close ends the body.
	run bash -c "curl -sS -0 -D '$BATS_TEST_TMPDIR/head' 'http://$ADDR/filelike?$BATS_TEST_TMPDIR/blob' | sha256sum | cut -c1-64"
	assert_output "$want"
	run cat "$BATS_TEST_TMPDIR/head"
	refute_line --partial 'Transfer-Encoding'
	assert_line $'Connection: close\r'
}

@test "http: a streamed block reaches the client before the application makes the next" {
	run "$PYTHON3" - "$PORT" "$BATS_TEST_TMPDIR/gate" <<-'PY'
	import socket, sys
	s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
	s.sendall(b'GET /gate?%s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'
	          % sys.argv[2].encode())
	s.settimeout(10)
	out = b''
	while b'first' not in out:
	    b = s.recv(4096)
	    if not b:
	        break
	    out += b
	# The client has the first block: now the app may go on.
	open(sys.argv[2], 'w').close()
	while True:
	    b = s.recv(4096)
	    if not b:
	        break
	    out += b
	sys.stdout.write(out.decode().replace('\r\n', '\n'))
	PY
	assert_line 'first'
	assert_line 'second'
	refute_line 'late'
}
