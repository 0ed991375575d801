#!/usr/bin/env bats
# Server modes driven directly, as a web server's gateway module would:
# --listen, the protocols' details (FastCGI records, keep-alive, values,
# multiplexing refused), hostile peers, and the processes (workers, a
# graceful stop, reload, fresh code, --max-requests).
load helpers

setup_file() {
	export FILE_DIR=$BATS_FILE_TMPDIR
	cp "$APPS/served.py" "$FILE_DIR/app.py"
	cd "$FILE_DIR"
	serve_start "$FILE_DIR" --timeout 2 "$FILE_DIR/app.py"
	export SOCK SERVER_PID
}

teardown_file() {
	serve_stop
}

@test "server: --listen on a Unix socket answers FastCGI, SCGI and uwsgi" {
	for p in fastcgi scgi uwsgi; do
		run gw "$p" "$SOCK"
		assert_success
		assert_line 'Hello from a server mode'
	done
	run --separate-stderr gw fastcgi "$SOCK"
	assert_line --index 0 $'Status: 200 OK\r'
	run gw uwsgi "$SOCK"
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
}

@test "server: FastCGI keeps the connection when asked (FCGI_KEEP_CONN)" {
	run --separate-stderr gw fastcgi "$SOCK" PATH_INFO=/pid --repeat 5
	assert_success
	assert_equal "$(grep -c ' one$' <<<"$output")" 5
	assert_equal "$(sort -u <<<"$output" | grep -c ' one$')" 1
	assert_equal "$stderr" "$(printf 'end: 0 0\n%.0s' 1 2 3 4 5)"
}

# fcgi_raw NAME PYTHON-EXPRESSION: the bytes it evaluates to (with rec(),
# the record maker of gwclient.py) into $BATS_TEST_TMPDIR/NAME.
fcgi_raw() {
	"$PYTHON3" -c "import sys; sys.path.insert(0, '$TESTS/tools')
from gwclient import fcgi_record as rec, fcgi_request as req
import struct
sys.stdout.buffer.write($2)" >"$BATS_TEST_TMPDIR/$1"
}

@test "server: each FastCGI request's STDERR holds only what it wrote, 200 times over" {
	run --separate-stderr "$PYTHON3" -c '
import sys
sys.path.insert(0, sys.argv[1])
import gwclient
env = [(b"REQUEST_METHOD", b"GET"), (b"SCRIPT_NAME", b""),
       (b"PATH_INFO", b"/log"), (b"QUERY_STRING", b""),
       (b"SERVER_NAME", b"x"), (b"SERVER_PORT", b"80"),
       (b"SERVER_PROTOCOL", b"HTTP/1.1"), (b"GATEWAY_INTERFACE", b"CGI/1.1")]
bad = 0
for i in range(200):
    s = gwclient.connect(sys.argv[2])
    s.sendall(gwclient.fcgi_request(env, b""))
    err, rid = b"", 1
    while True:
        head = gwclient.recv_exact(s, 8)
        t, got, n, pad = head[1], int.from_bytes(head[2:4], "big"), \
            int.from_bytes(head[4:6], "big"), head[6]
        content = gwclient.recv_exact(s, n + pad)[:n]
        if t == 7:
            err += content
        if t == 3:
            break
    if err != b"L" * 999 + b"\n":
        bad += 1
        print("request %d: %d stderr bytes, %d NULs" % (i, len(err),
              err.count(b"\0")))
    s.close()
print("bad", bad)' "$TESTS/tools" "$SOCK"
	assert_success
	assert_output 'bad 0'
}

@test "server: wsgi.errors and sys.stderr go to the request's STDERR; sys.stderr stays a stream" {
	run --separate-stderr gw fastcgi "$SOCK" PATH_INFO=/errors
	assert_success
	assert_line 'utf-8 True True'
	assert_equal "$stderr" "$(printf 'one\ntwo \303\251\nthree\nend: 0 0')"
	# Over SCGI, the server's own stderr has them.
	run gw scgi "$SOCK" PATH_INFO=/errors
	assert_success
	assert_line 'utf-8 True True'
	wait_count 1 '^two é$' "$FILE_DIR/server.log"
}

@test "server: FCGI_GET_VALUES is answered; unknown management types too" {
	fcgi_raw values "rec(9, 0, b'\\x0e\\x00FCGI_MAX_CONNS\\x0d\\x00FCGI_MAX_REQS\\x0f\\x00FCGI_MPXS_CONNS') + rec(42, 0, b'')"
	run gw fastcgi "$SOCK" --raw "$BATS_TEST_TMPDIR/values"
	assert_output --partial 'FCGI_MAX_CONNS1'
	assert_output --partial 'FCGI_MAX_REQS1'
	assert_output --partial 'FCGI_MPXS_CONNS0'
	# UNKNOWN_TYPE naming type 42 (0x2a).
	run bash -c "'$PYTHON3' '$TESTS/tools/gwclient.py' fastcgi '$SOCK' --raw '$BATS_TEST_TMPDIR/values' | od -An -tx1 | tr -d ' \\n'"
	assert_output --partial '010b0000000800002a00000000000000'
}

@test "server: a second request id on one connection is FCGI_CANT_MPX_CONN" {
	fcgi_raw mpx "req([(b'REQUEST_METHOD', b'GET'), (b'SERVER_PROTOCOL', b'HTTP/1.1')], b'', rid=1)[:16] + rec(1, 2, struct.pack('>HB5x', 1, 0)) + req([(b'REQUEST_METHOD', b'GET'), (b'SERVER_PROTOCOL', b'HTTP/1.1')], b'', rid=1)[16:]"
	run bash -c "'$PYTHON3' '$TESTS/tools/gwclient.py' fastcgi '$SOCK' --raw '$BATS_TEST_TMPDIR/mpx' | od -An -tx1 | tr -d ' \\n'"
	# END_REQUEST for id 2, protocol status 1 (CANT_MPX_CONN).
	assert_output --partial '01030002000800000000000001000000'
	# Request 1 is answered, and ends complete.
	assert_output --partial '01030001000800000000000000000000'
}

@test "server: FCGI_ABORT_REQUEST before the body ends the request" {
	fcgi_raw abort "req([(b'REQUEST_METHOD', b'POST'), (b'SERVER_PROTOCOL', b'HTTP/1.1'), (b'PATH_INFO', b'/sha256'), (b'CONTENT_LENGTH', b'10')], b'')[:-8] + rec(5, 1, b'abc') + rec(2, 1, b'')"
	run --separate-stderr gw fastcgi "$SOCK" --raw "$BATS_TEST_TMPDIR/abort"
	# The request ends complete, with no response of the app's.
	refute_output --partial 'Status:'
	# Still serving.
	run gw fastcgi "$SOCK"
	assert_line 'Hello from a server mode'
}

@test "server: names and values with 4-byte lengths, and params over 1 MiB refused" {
	long=$(head -c 100000 /dev/zero | tr '\0' 'x')
	run gw fastcgi "$SOCK" PATH_INFO=/env "HTTP_X_LONG=$long"
	assert_success
	assert_output --partial "HTTP_X_LONG='xxxx"
	fcgi_raw huge "req([(b'REQUEST_METHOD', b'GET'), (b'SERVER_PROTOCOL', b'HTTP/1.1'), (b'HTTP_X', b'x' * 1100000)], b'')"
	run gw fastcgi "$SOCK" --raw "$BATS_TEST_TMPDIR/huge"
	assert_output ''
	run grep -c 'FastCGI: bad request variables: the request.s variables are too large: closing' "$FILE_DIR/server.log"
	refute_output 0
}

@test "server: hostile bytes close that connection with a log line, and serving goes on" {
	printf 'GET / HTTP/1.1\r\n\r\n' >"$BATS_TEST_TMPDIR/http"
	printf '\001\001\000' >"$BATS_TEST_TMPDIR/truncated"
	printf '99999999999:' >"$BATS_TEST_TMPDIR/scgi-overflow"
	printf '12:CONTENT_LEN' >"$BATS_TEST_TMPDIR/scgi-short"
	printf '\000\377\377\000abc' >"$BATS_TEST_TMPDIR/uwsgi-short"
	printf '\000\010\000\000\377\377ab\001\000' >"$BATS_TEST_TMPDIR/uwsgi-overflow"
	printf '\002\001\000\001\000\010\000\000' >"$BATS_TEST_TMPDIR/fcgi-version"
	head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/random"
	for f in http truncated scgi-overflow scgi-short uwsgi-short \
	    uwsgi-overflow fcgi-version random; do
		run gw fastcgi "$SOCK" --raw "$BATS_TEST_TMPDIR/$f"
		refute_output --partial '200 OK'
		run gw scgi "$SOCK"
		assert_line 'Hello from a server mode'
	done
	run grep -c 'closing$' "$FILE_DIR/server.log"
	[ "$output" -ge 7 ]
	kill -0 "$SERVER_PID"
}

@test "server: a peer that stops sending is dropped after --timeout" {
	fcgi_raw stall "req([(b'REQUEST_METHOD', b'POST'), (b'SERVER_PROTOCOL', b'HTTP/1.1'), (b'PATH_INFO', b'/sha256'), (b'CONTENT_LENGTH', b'10')], b'')[:-8] + rec(5, 1, b'abc')"
	# Sends the start of a body, then nothing, with the connection open.
	"$PYTHON3" -c "import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(open(sys.argv[2], 'rb').read()); time.sleep(5)" \
	    "$SOCK" "$BATS_TEST_TMPDIR/stall" &
	stalled=$!
	wait_accepted "$SERVER_PID" 1
	# One worker: served again once the stalled peer is dropped.
	run timeout 10 "$PYTHON3" "$TESTS/tools/gwclient.py" scgi "$SOCK"
	assert_line 'Hello from a server mode'
	kill "$stalled" 2>/dev/null || true
	run grep -c 'the peer stopped sending' "$FILE_DIR/server.log"
	refute_output 0
}

@test "server: 2,000 requests on one worker, no growth in descriptors or memory" {
	fds() { ls "/proc/$SERVER_PID/fd" | wc -l; }
	rss() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
	gw fastcgi "$SOCK" PATH_INFO=/pid --repeat 200 >/dev/null 2>&1
	fd0=$(fds)
	rss0=$(rss)
	"$PYTHON3" - "$SOCK" "$TESTS/tools" <<-'PY'
	import sys
	sys.path.insert(0, sys.argv[2])
	import gwclient, socket
	env = [(b'REQUEST_METHOD', b'POST'), (b'SERVER_PROTOCOL', b'HTTP/1.1'),
	       (b'PATH_INFO', b'/sha256')]
	for i in range(500):
	    for proto in ('fastcgi', 'scgi', 'uwsgi'):
	        s = gwclient.connect(sys.argv[1])
	        body = b'x' * (i % 7 * 1000)
	        e = env + [(b'CONTENT_LENGTH', str(len(body)).encode())]
	        if proto == 'fastcgi':
	            s.sendall(gwclient.fcgi_request(e, body))
	            out = gwclient.fcgi_response(s)
	        else:
	            s.sendall((gwclient.scgi_request if proto == 'scgi'
	                       else gwclient.uwsgi_request)(e, body))
	            out = gwclient.recv_all(s)
	        assert b'%d ' % len(body) in out, out
	        s.close()
	    s = gwclient.connect(sys.argv[1])
	    s.sendall(b'garbage')
	    s.close()
	PY
	assert_equal "$(fds)" "$fd0"
	# Memory: within 2 MiB of where it was after the first 200 (ASan's
	# quarantine holds freed memory back: 64 MiB there).
	limit=2048
	[[ "$WSGI_CGI" != *-asan ]] || limit=65536
	[ $(( $(rss) - rss0 )) -lt "$limit" ]
}

@test "server: 600 mutated requests of each protocol (HTTP twice) never stop it (the ASan build runs this too)" {
	"$PYTHON3" - "$SOCK" "$TESTS/tools" <<-'PY'
	import random, socket, sys
	sys.path.insert(0, sys.argv[2])
	import gwclient
	rng = random.Random(1)
	env = [(b'REQUEST_METHOD', b'POST'), (b'SERVER_PROTOCOL', b'HTTP/1.1'),
	       (b'PATH_INFO', b'/sha256'), (b'CONTENT_LENGTH', b'5')]
	seeds = [gwclient.fcgi_request(env, b'hello'),
	         gwclient.scgi_request(env, b'hello'),
	         gwclient.uwsgi_request(env, b'hello'),
	         b'POST /sha256 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n'
	         b'\r\nhelloGET /pid HTTP/1.1\r\nHost: h\r\n\r\n',
	         b'POST /sha256 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: '
	         b'chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n']
	for i in range(600 * len(seeds)):
	    b = bytearray(seeds[i % len(seeds)])
	    for _ in range(rng.randint(1, 8)):
	        op = rng.random()
	        pos = rng.randrange(len(b))
	        if op < 0.5:
	            b[pos] = rng.randrange(256)
	        elif op < 0.75:
	            del b[pos:pos + rng.randint(1, 16)]
	        else:
	            b[pos:pos] = bytes(rng.randrange(256)
	                               for _ in range(rng.randint(1, 16)))
	    s = gwclient.connect(sys.argv[1])
	    s.settimeout(10)
	    try:
	        s.sendall(bytes(b))
	        s.shutdown(socket.SHUT_WR)
	        gwclient.recv_all(s)
	    except OSError:
	        pass
	    s.close()
	PY
	kill -0 "$SERVER_PID"
	run gw fastcgi "$SOCK" --repeat 2
	assert_line 'Hello from a server mode'
	run gw uwsgi "$SOCK"
	assert_line 'Hello from a server mode'
	run curl -sS --unix-socket "$SOCK" http://h/
	assert_line 'Hello from a server mode'
}

@test "server: print() in the app goes to the log at once, never into the response" {
	run gw scgi "$SOCK" PATH_INFO=/print
	assert_output --partial 'printed'
	refute_output --partial 'printed by the app'
	wait_count 1 '^printed by the app$' "$FILE_DIR/server.log"
}
