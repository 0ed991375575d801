#!/usr/bin/env bats
# The process: descriptors 0-2, the private response descriptor, children,
# atexit, and what fd 0 may be (spec 4.7, 7.6).
load helpers

@test "closed fds 0, 1 or 2 at start: still a clean response" {
	run --separate-stderr bash -c 'env -i "$0" "$1" <&-' "$WSGI_CGI" \
	    "$APPS/hello.py"
	assert_success
	assert_line 'Hello World!'
	# With stderr closed the traceback goes nowhere, never to stdout.
	run --separate-stderr bash -c 'env -i "$0" "$1" 2>&-' "$WSGI_CGI" \
	    "$APPS/raise.py"
	assert_failure 1
	assert_output --partial 'A server error occurred.'
	refute_output --partial Traceback
	run --separate-stderr bash -c 'env -i "$0" "$1" >&-' "$WSGI_CGI" \
	    "$APPS/hello.py"
	assert_success
}

@test "the response is closed before atexit handlers run" {
	marker=$BATS_TEST_TMPDIR/eof
	run --separate-stderr bash -c 'env -i PATH_INFO=/atexit \
	    EOF_MARKER="$2" "$0" "$1" | { cat >/dev/null; touch "$2"; }' \
	    "$WSGI_CGI" "$APPS/lifecycle.py" "$marker"
	assert_success
	assert_equal "$stderr" 'atexit: the client had EOF'
}

@test "a forked child that outlives the app does not hold the response" {
	run --separate-stderr timeout 20 bash -c 'env -i PATH_INFO=/fork \
	    "$0" "$1" 2>/dev/null | cat' "$WSGI_CGI" "$APPS/lifecycle.py"
	pkill -f "$APPS/lifecycle.py" || true
	assert_success
	assert_line done
}

@test "stdin a listening socket (php-cgi's convention): served persistently until SIGTERM" {
	run --separate-stderr timeout 20 "$PYTHON3" -c '
import signal, socket, subprocess, sys
sys.path.insert(0, sys.argv[1])
import gwclient
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
p = subprocess.Popen(sys.argv[2:], stdin=s, env={})
env = [(b"REQUEST_METHOD", b"GET"), (b"SERVER_PROTOCOL", b"HTTP/1.1")]
for proto in ("scgi", "scgi"):
    c = socket.create_connection(s.getsockname())
    c.sendall(gwclient.scgi_request(env, b""))
    sys.stdout.buffer.write(gwclient.recv_all(c))
p.send_signal(signal.SIGTERM)
sys.exit(p.wait())' "$TESTS/tools" "$WSGI_CGI" "$APPS/hello.py"
	assert_success
	assert_equal "$(grep -c 'Hello World!' <<<"$output")" 2
	assert_equal "$stderr" ""
}

@test "stdin and stdout one socket (mod_cgid): the response ends with EOF" {
	run --separate-stderr timeout 20 "$PYTHON3" -c '
import socket, subprocess, sys
ours, theirs = socket.socketpair()
p = subprocess.Popen(sys.argv[1:], stdin=theirs, stdout=theirs,
                     env={"CONTENT_LENGTH": "4", "PATH_INFO": "/read"})
theirs.close()
ours.sendall(b"data")
out = b""
while True:
    chunk = ours.recv(65536)
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode())
sys.exit(p.wait())' "$WSGI_CGI" "$APPS/input.py"
	assert_success
	assert_line "[b'data']"
}

@test "SIGTERM once the whole response is out (lighttpd's way) is no cut: exit 0, nothing logged" {
	for method in GET HEAD; do
		run --separate-stderr timeout 30 "$PYTHON3" -c '
import os, signal, subprocess, sys
env = {"REQUEST_METHOD": sys.argv[3], "PATH_INFO": "/whole-then-wait",
       "CLOSE_LOG": sys.argv[4]}
p = subprocess.Popen([sys.argv[1], sys.argv[2]], env=env,
                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
out = b""
# The head, and for GET the 6 bytes its Content-Length declares.
while not out.endswith(b"\r\n\r\nwhole\n" if sys.argv[3] == "GET"
                       else b"\r\n\r\n"):
    out += os.read(p.stdout.fileno(), 4096)
p.send_signal(signal.SIGTERM)
sys.stdout.write(out.decode() + p.stdout.read().decode())
sys.exit(p.wait())' "$WSGI_CGI" "$APPS/response.py" "$method" \
		    "$BATS_TEST_TMPDIR/close.log"
		assert_success
		assert_equal "$stderr" ""
		assert_line $'Content-Length: 6\r'
		run cat "$BATS_TEST_TMPDIR/close.log"
		assert_output closed
		rm "$BATS_TEST_TMPDIR/close.log"
	done
}

@test "SIGTERM (client gone, server timeout): close() runs, one line, exit 1" {
	run --separate-stderr timeout 30 bash -c '
	    mkfifo "$2/fifo"
	    sleep 30 <"$2/fifo" &
	    reader=$!
	    env -i PATH_INFO=/forever CLOSE_LOG="$2/close.log" "$0" "$1" \
		>"$2/fifo" &
	    pid=$!
	    # Wait until the response fills the pipe and the write blocks.
	    until grep -q "pipe_write" /proc/$pid/wchan 2>/dev/null; do
		sleep 0.1
	    done
	    kill -TERM $pid
	    wait $pid
	    status=$?
	    kill $reader
	    exit $status' "$WSGI_CGI" "$APPS/response.py" "$BATS_TEST_TMPDIR"
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: $APPS/response.py: GET /forever: terminated by SIGTERM; response cut short"
	run cat "$BATS_TEST_TMPDIR/close.log"
	assert_output closed
}

@test "when stderr is the response itself (mini_httpd), diagnostics never reach the client" {
	# fds 1 and 2 one file: print(), a traceback and our own lines.
	run bash -c 'env -i PATH_INFO=/print "$1" "$2" >"$3" 2>&1' _ \
	    "$WSGI_CGI" "$APPS/response.py" "$BATS_TEST_TMPDIR/out"
	assert_success
	run raw_output
	assert_output 'Status: 200 OK\r
Content-Type: text/plain\r
Content-Length: 6\r
\r
clean'
	run bash -c 'env -i "$1" "$2" >"$3" 2>&1' _ "$WSGI_CGI" \
	    "$APPS/raise.py" "$BATS_TEST_TMPDIR/out"
	assert_failure 1
	run raw_output
	refute_output --partial Traceback
	refute_output --partial ZeroDivisionError
	assert_line --index 0 'Status: 500 Internal Server Error\r'
}
