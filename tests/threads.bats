#!/usr/bin/env bats
# --threads: a worker serves many requests at once, each with its own
# environ, body, response and error stream, directly and behind nginx;
# waiting clients hold a thread, not the worker; stops, reloads and
# --max-requests count every thread.
load helpers

setup_file() {
	export FILE_DIR=$BATS_FILE_TMPDIR
	cp "$APPS/concurrent.py" "$FILE_DIR/app.py"
	cd "$FILE_DIR"
	serve_start "$FILE_DIR" --threads 8 --access-log "$FILE_DIR/app.py"
	export SOCK SERVER_PID
	nginx_start "$FILE_DIR" "unix:$SOCK" keep
}

teardown_file() {
	nginx_stop "$FILE_DIR"
	serve_stop
}

# A test's own server (OWN_PID) and lighttpd (OWN_LIGHTTPD), stopped even
# when the test fails; the file's (from setup_file) are teardown_file's.
teardown() {
	if [ -n "${OWN_PID:-}" ]; then
		kill "$OWN_PID" 2>/dev/null || true
		wait "$OWN_PID" 2>/dev/null || true
	fi
	if [ -n "${OWN_LIGHTTPD:-}" ]; then
		lighttpd_stop "$OWN_LIGHTTPD"
	fi
}

@test "threads: wsgi.multithread is True with --threads 8" {
	run curl -sS --unix-socket "$SOCK" http://x/flags
	assert_success
	assert_output --partial 'multithread=True multiprocess=False'
}

@test "threads: 16 clients at once over each protocol, every response its request's, FastCGI STDERR its own" {
	for p in http fastcgi scgi uwsgi; do
		run "$PYTHON3" "$TESTS/tools/concurrent.py" "$p" "$SOCK" 16 5
		assert_success
		assert_output 'ok 80'
	done
}

@test "threads: through nginx (FastCGI kept, SCGI, uwsgi, HTTP kept), every response its request's" {
	local addr=${NGINX_URL#http://}
	for p in fastcgi scgi uwsgi http; do
		run "$PYTHON3" "$TESTS/tools/concurrent.py" http "$addr" 16 4 "/$p"
		assert_success
		assert_output 'ok 64'
	done
	# nginx logs each request's STDERR (its last newline dropped) with
	# that request's line.
	wait_count 64 'FastCGI sent in stderr: "request ' "$FILE_DIR/nginx.log"
	run "$PYTHON3" -c '
import re, sys
log = open(sys.argv[1]).read()
entries = re.findall(r"FastCGI sent in stderr: \"(.*?)\" while .*?request: \"POST /fastcgi/c\d+/r\d+\?id=([\d-]+)&", log, re.S)
good = [e for e in entries if e[0] == "request %s\nstderr of %s" % (e[1], e[1])]
print(len(entries), len(good))' "$FILE_DIR/nginx.log"
	assert_success
	assert_output '64 64'
}

@test "threads: a kept connection's next requests, whole, pipelined or in pieces, are served on it in order" {
	# The thread that served a request waits a moment for the next; what
	# comes later, or in pieces, is the room's again.
	run "$PYTHON3" -c '
import importlib.util, socket, sys, time
spec = importlib.util.spec_from_file_location("cc", sys.argv[2])
cc = importlib.util.module_from_spec(spec); spec.loader.exec_module(cc)
def req(i):
    return b"GET /k?id=%d HTTP/1.1\r\nHost: x\r\nX-Id: %d\r\n\r\n" % (i, i)
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
buf, got = b"", []
def one():
    global buf
    status, body, buf = cc.http_response(s, buf)
    got.append(body.split(b" ")[2].decode())
s.sendall(req(1)); one()
s.sendall(req(2)); one()
s.sendall(req(3) + req(4)); one(); one()
s.sendall(req(5)[:9]); time.sleep(0.1); s.sendall(req(5)[9:]); one()
time.sleep(0.1); s.sendall(req(6)); one()
print(" ".join(got))' "$SOCK" "$TESTS/tools/concurrent.py"
	assert_success
	assert_output '1 2 3 4 5 6'
}

@test "threads: a slow uploader and a slow reader do not delay a quick request" {
	# Each holds a thread: a body that stops coming, a response not read.
	"$PYTHON3" -c '
import socket, sys, time
up = socket.socket(socket.AF_UNIX); up.connect(sys.argv[1])
up.sendall(b"POST /slurp HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"u" * 100000)
down = socket.socket(socket.AF_UNIX); down.connect(sys.argv[1])
down.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
down.sendall(b"GET /big?50000000 HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(60)' "$SOCK" 3>&- &
	local slow=$!
	wait_count 1 '^slurp begins$' "$FILE_DIR/server.log"
	wait_count 1 '^big begins$' "$FILE_DIR/server.log"
	run curl -sS --max-time 20 --unix-socket "$SOCK" http://x/flags
	kill "$slow"
	assert_success
	assert_output --partial 'multithread=True'
}

@test "threads: access log lines and stderr lines stay whole under concurrency" {
	local before
	before=$(wc -l <"$FILE_DIR/server.log")
	run "$PYTHON3" "$TESTS/tools/concurrent.py" http "$SOCK" 16 10
	assert_success
	tail -n +"$((before + 1))" "$FILE_DIR/server.log" >"$BATS_TEST_TMPDIR/log"
	run grep -cE '^[0-9.-]+ - - ' "$BATS_TEST_TMPDIR/log"
	assert_output 160
	run grep -cvE '^(request [0-9-]+|stderr of [0-9-]+|holding|big begins|slurp begins|[0-9.-]+ - - \[[^]]+\] "[A-Z]+ [^ ]+ HTTP/1\.[01]" [0-9]{3} [0-9]+ [0-9.]+)$' "$BATS_TEST_TMPDIR/log"
	assert_output 0
}

# held_start DIR N ARGS...: a server of its own (DIR/s.sock, HTTP) with
# ARGS, and N requests to /hold in the background, each waiting until
# DIR/go exists; returns once all N are running.
held_start() {
	local dir=$1 n=$2 i
	shift 2
	mkdir -p "$dir"
	serve_start "$dir" --protocol http "$@" "$FILE_DIR/app.py"
	OWN_PID=$SERVER_PID
	for i in $(seq "$n"); do
		curl -sS --max-time 30 --unix-socket "$dir/s.sock" \
		    "http://x/hold?$dir/go" >"$dir/held.$i" 2>&1 3>&- &
	done
	wait_count "$n" '^holding$' "$dir/server.log"
}

@test "threads: SIGTERM waits for the request on every thread, then stops" {
	local dir=$BATS_TEST_TMPDIR/term i
	held_start "$dir" 4 --threads 4
	kill -TERM "$SERVER_PID"
	touch "$dir/go"
	local rc=0
	wait "$SERVER_PID" || rc=$?
	assert_equal "$rc" 0
	for i in 1 2 3 4; do
		wait_count 1 "^held [0-9]*$" "$dir/held.$i"
	done
}

@test "threads: SIGHUP finishes the requests of every thread; serving goes on" {
	local dir=$BATS_TEST_TMPDIR/hup i
	held_start "$dir" 4 --threads 4 --workers 2
	kill -HUP "$SERVER_PID"
	touch "$dir/go"
	for i in 1 2 3 4; do
		wait_count 1 "^held [0-9]*$" "$dir/held.$i"
	done
	run curl -sS --max-time 20 --unix-socket "$SOCK" http://x/flags
	assert_success
	assert_output --partial 'multiprocess=True'
	serve_stop
}

@test "threads: --max-requests counts the requests of every thread" {
	local dir=$BATS_TEST_TMPDIR/max
	mkdir -p "$dir"
	serve_start "$dir" --protocol http --workers 2 --threads 4 \
	    --max-requests 10 "$FILE_DIR/app.py"
	OWN_PID=$SERVER_PID
	run "$PYTHON3" -c '
import socket, sys, threading
pids, lock = set(), threading.Lock()
def client():
    for _ in range(10):
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
        s.sendall(b"GET /flags HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        got = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
        with lock:
            pids.add(got.split(b"pid=")[1].split()[0])
ts = [threading.Thread(target=client) for _ in range(6)]
[t.start() for t in ts]
[t.join() for t in ts]
print(len(pids))' "$SOCK"
	serve_stop
	assert_success
	# 60 requests: a worker that has served 10 accepts no more, and
	# finishes those it has (6 clients: 16 at most), so four at least.
	[ "$output" -ge 4 ] || fail "$output workers served 60 requests"
}

@test "threads: a Flask counter in sqlite3, incremented by 32 clients at once, ends exact" {
	local dir=$BATS_TEST_TMPDIR/flask
	mkdir -p "$dir"
	cat >"$dir/app.py" <<-EOF
	import sqlite3
	from flask import Flask
	DB = '$dir/count.db'
	with sqlite3.connect(DB) as c:
	    c.execute('CREATE TABLE IF NOT EXISTS n (v INTEGER)')
	    if c.execute('SELECT COUNT(*) FROM n').fetchone()[0] == 0:
	        c.execute('INSERT INTO n VALUES (0)')
	application = Flask(__name__)

	@application.route('/')
	def ready():
	    return 'ready\n'

	@application.route('/inc', methods=['POST'])
	def inc():
	    with sqlite3.connect(DB, timeout=60) as c:
	        c.execute('UPDATE n SET v = v + 1')
	    return 'ok\n'

	@application.route('/n')
	def n():
	    with sqlite3.connect(DB) as c:
	        return '%d\n' % c.execute('SELECT v FROM n').fetchone()[0]
	EOF
	serve_start "$dir" --protocol http --threads 8 "$dir/app.py"
	OWN_PID=$SERVER_PID
	run "$PYTHON3" -c '
import socket, sys, threading
bad = []
def client():
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
    for _ in range(10):
        s.sendall(b"POST /inc HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        got = b""
        while not got.endswith(b"ok\n"):
            b = s.recv(4096)
            if not b:
                bad.append(got)
                return
            got += b
ts = [threading.Thread(target=client) for _ in range(32)]
[t.start() for t in ts]
[t.join() for t in ts]
print("bad", len(bad))' "$SOCK"
	assert_success
	assert_output 'bad 0'
	run curl -sS --unix-socket "$SOCK" http://x/n
	serve_stop
	assert_output 320
}

@test "threads: lighttpd spawns the script (bin-path) with --threads from its #! line or WSGI_CGI_OPTIONS" {
	local dir=$BATS_TEST_TMPDIR/lighttpd addr
	mkdir -p "$dir/www"
	{ echo "#!$WSGI_CGI --threads 8"; cat "$APPS/concurrent.py"; } \
	    >"$dir/fastcgi.py"
	{ echo "#!$WSGI_CGI"; cat "$APPS/concurrent.py"; } >"$dir/uwsgi.py"
	chmod +x "$dir/fastcgi.py" "$dir/uwsgi.py"
	lighttpd_start "$dir" \
	    'server.modules += ( "mod_fastcgi", "mod_scgi" )' \
	    "fastcgi.server = ( \"/fastcgi\" => (( \"socket\" => \"$dir/fastcgi.sock\", \"bin-path\" => \"$dir/fastcgi.py\", \"check-local\" => \"disable\", \"max-procs\" => 1 )) )" \
	    "\$HTTP[\"url\"] =~ \"^/uwsgi\" { scgi.protocol = \"uwsgi\"
	    scgi.server = ( \"/uwsgi\" => (( \"socket\" => \"$dir/uwsgi.sock\", \"bin-path\" => \"$dir/uwsgi.py\", \"check-local\" => \"disable\", \"max-procs\" => 1, \"bin-environment\" => ( \"WSGI_CGI_OPTIONS\" => \"--threads 8\" ) )) ) }"
	OWN_LIGHTTPD=$dir
	addr=${LIGHTTPD_URL#http://}
	for p in fastcgi uwsgi; do
		run curl -sS "$LIGHTTPD_URL/$p/flags"
		assert_output --partial 'multithread=True'
		run "$PYTHON3" "$TESTS/tools/concurrent.py" http "$addr" 16 4 "/$p"
		assert_success
		assert_output 'ok 64'
	done
	lighttpd_stop "$dir"
}
