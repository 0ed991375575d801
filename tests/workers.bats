#!/usr/bin/env bats
# The processes of a server mode: workers and their master, a graceful
# stop, SIGHUP, an edited script, --max-requests, --protocol, TCP.
load helpers

setup() {
	cp "$APPS/served.py" "$BATS_TEST_TMPDIR/app.py"
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	serve_stop
}

# started N: within 5 seconds the log says N /slow requests have begun.
started() {
	wait_count "$1" '^slow started$' server.log
}

# pids: the distinct pids that answer N requests (one connection each).
pids() {
	local i
	for i in $(seq "$1"); do
		gw scgi "$SOCK" PATH_INFO=/pid | tail -n 1
	done | sort -u
}

@test "workers: --workers 3 pre-forks three processes that share the socket" {
	serve_start "$BATS_TEST_TMPDIR" --workers 3 app.py
	# Concurrent clients, each on its own connection, none fails.
	for i in $(seq 30); do
		gw scgi "$SOCK" PATH_INFO=/slow QUERY_STRING=0.05 >"out.$i" &
	done
	wait $(jobs -p | grep -v "^$SERVER_PID\$") 2>/dev/null || true
	run cat out.*
	assert_equal "$(grep -c 'slow done' <<<"$output")" 30
	run pgrep -P "$SERVER_PID"
	assert_equal "${#lines[@]}" 3
	run gw scgi "$SOCK" PATH_INFO=/env
	assert_line 'wsgi.multiprocess=True'
}

@test "workers: a killed worker is replaced" {
	serve_start "$BATS_TEST_TMPDIR" --workers 2 app.py
	victim=$(pgrep -P "$SERVER_PID" | head -n 1)
	kill -9 "$victim"
	for i in $(seq 50); do
		[ "$(pgrep -P "$SERVER_PID" | grep -vc "^$victim\$")" -eq 2 ] &&
		    break
		sleep 0.1
	done
	run pgrep -P "$SERVER_PID"
	assert_equal "${#lines[@]}" 2
	refute_line "$victim"
	run gw scgi "$SOCK"
	assert_line 'Hello from a server mode'
	run grep -c "worker $victim ended" server.log
	assert_output 1
}

@test "workers: SIGTERM lets the request in flight finish, then stops" {
	for n in 1 2; do
		: >server.log
		serve_start "$BATS_TEST_TMPDIR" --workers "$n" app.py
		gw scgi "$SOCK" PATH_INFO=/slow QUERY_STRING=1 >slow.out &
		client=$!
		started 1
		kill -TERM "$SERVER_PID"
		wait "$client"
		run cat slow.out
		assert_line 'slow done'
		rc=0
		wait "$SERVER_PID" || rc=$?
		assert_equal "$rc" 0
		[ ! -e "$SOCK" ]
	done
}

# http_start PORT N: the app over HTTP on 127.0.0.1:PORT, N workers.
http_start() {
	"$WSGI_CGI" --listen "127.0.0.1:$1" --workers "$2" app.py \
	    2>>server.log 3>&- &
	SERVER_PID=$!
	wait_http "http://127.0.0.1:$1/pid"
}

@test "workers: over HTTP, SIGTERM and SIGHUP finish what has begun and close kept connections" {
	local port
	port=$(free_port)
	for n in 1 2; do
		: >server.log
		http_start "$port" "$n"
		# Kept idle, arriving (half a head), and in flight.
		"$PYTHON3" "$TESTS/tools/httpraw.py" "127.0.0.1:$port" \
		    'GET /pid HTTP/1.1\r\nHost: h\r\n\r\n' --wait 10 >idle.out &
		idle=$!
		"$PYTHON3" "$TESTS/tools/httpraw.py" "127.0.0.1:$port" \
		    'GET /pid HTTP/1.1\r\nHost: h\r\n\r\n' --pieces 2 --delay 1 \
		    --wait 10 >half.out &
		half=$!
		wait_accepted "$SERVER_PID" 2
		curl -sS -i "http://127.0.0.1:$port/slow?0.5" >slow.out &
		client=$!
		started 1
		kill -TERM "$SERVER_PID"
		wait "$client" "$half" "$idle"
		run cat slow.out
		assert_line 'slow done'
		assert_line $'Connection: close\r'
		run cat half.out
		assert_line --index 0 'HTTP/1.1 200 OK\r'
		assert_line 'Connection: close\r'
		assert_line '[closed]'
		run cat idle.out
		assert_line --index 0 'HTTP/1.1 200 OK\r'
		assert_line '[closed]'
		rc=0
		wait "$SERVER_PID" || rc=$?
		assert_equal "$rc" 0
		# SIGHUP: the same, and the server goes on.
		http_start "$port" "$n"
		curl -sS -i "http://127.0.0.1:$port/slow?0.5" >slow.out &
		client=$!
		started 2
		kill -HUP "$SERVER_PID"
		wait "$client"
		run cat slow.out
		assert_line 'slow done'
		wait_http "http://127.0.0.1:$port/pid"
		run curl -sS "http://127.0.0.1:$port/pid"
		assert_output --partial ' one'
		serve_stop
	done
}

@test "workers: an edit of the script is served by the next request" {
	serve_start "$BATS_TEST_TMPDIR" app.py
	run gw scgi "$SOCK" PATH_INFO=/pid
	pid=$(tail -n 1 <<<"$output" | cut -d' ' -f1)
	assert_line "$pid one"
	cp -p app.py stamp
	# Same size, same mtime: the ctime still changes.
	sed -i "s/^VERSION = 'one'/VERSION = 'two'/" app.py
	touch -r stamp app.py
	run gw scgi "$SOCK" PATH_INFO=/pid
	assert_line "$pid two"
	touch app.py
	run gw fastcgi "$SOCK" PATH_INFO=/pid
	assert_line "$pid two"
}

@test "workers: an edited classic script (CGIHandler().run(app)) serves its new app" {
	cp "$APPS/classic.cgi" app.py
	serve_start "$BATS_TEST_TMPDIR" app.py
	run gw scgi "$SOCK"
	assert_success
	assert_line 'classic'
	sed -i "s/b'classic/b'edited/" app.py
	run gw scgi "$SOCK"
	assert_success
	assert_line 'edited'
	refute_line 'classic'
}

@test "workers: SIGHUP reloads what the script imports, without a dropped request" {
	# Sizes differ: python3's own import cache trusts mtime and size.
	echo "VALUE = 'old'" >helper.py
	cat >>app.py <<-'PY'
	import helper
	VERSION = helper.VALUE
	PY
	for n in 1 2; do
		serve_start "$BATS_TEST_TMPDIR" --workers "$n" app.py
		run pids 6
		assert_output --partial ' old'
		echo "VALUE = 'new one'" >helper.py
		# A module imported by the script: not seen until SIGHUP.
		run pids 4
		refute_output --partial ' new'
		gw scgi "$SOCK" PATH_INFO=/slow QUERY_STRING=0.5 >slow.out &
		client=$!
		started "$n"
		kill -HUP "$SERVER_PID"
		wait "$client"
		run cat slow.out
		assert_line 'slow done'
		for i in $(seq 50); do
			pids 1 | grep -q ' new one$' && break
			sleep 0.1
		done
		run pids 6
		assert_output --partial ' new'
		refute_output --partial ' old'
		serve_stop
		echo "VALUE = 'old'" >helper.py
	done
}

@test "workers: --max-requests renews a worker after that many requests" {
	serve_start "$BATS_TEST_TMPDIR" --workers 1 --max-requests 3 app.py
	# One process, executed again: the module body runs again.
	before=$(gw scgi "$SOCK" PATH_INFO=/env | grep -c .)
	for i in 1 2 3 4 5 6 7; do
		gw scgi "$SOCK" PATH_INFO=/pid
	done >out
	run grep -c 'one' out
	assert_output 7
	serve_stop
	serve_start "$BATS_TEST_TMPDIR" --workers 2 --max-requests 2 app.py
	run pids 10
	[ "${#lines[@]}" -ge 3 ]
}

@test "workers: --protocol restricts what is accepted; --listen HOST:PORT" {
	serve_start "$BATS_TEST_TMPDIR" --protocol scgi --protocol uwsgi app.py
	run gw scgi "$SOCK"
	assert_success
	assert_line 'Hello from a server mode'
	run gw uwsgi "$SOCK"
	assert_success
	assert_line 'Hello from a server mode'
	# FastCGI and HTTP are refused: the connection closes unanswered.
	run gw fastcgi "$SOCK"
	assert_failure
	refute_line 'Hello from a server mode'
	run curl -sS --unix-socket "$SOCK" http://localhost/
	assert_failure 52
	wait_count 1 'a fastcgi request, which this address does not serve: closing (--protocol fastcgi serves it)$' server.log
	serve_stop
	# HOST:PORT: HTTP alone by default; a gateway request is refused with
	# a line that names the fix.
	port=$(free_port)
	"$WSGI_CGI" --listen "127.0.0.1:$port" app.py 2>>server.log &
	SERVER_PID=$!
	wait_http "http://127.0.0.1:$port/"
	run curl -sS "http://127.0.0.1:$port/"
	assert_success
	assert_output 'Hello from a server mode'
	for p in fastcgi scgi uwsgi; do
		run gw $p "127.0.0.1:$port"
		assert_failure
		refute_line 'Hello from a server mode'
		wait_count 1 "a $p request, which this address does not serve (HOST:PORT serves HTTP alone unless --protocol is given): closing (--protocol $p serves it)\$" server.log
	done
	serve_stop
	# --protocol names what a HOST:PORT serves.
	"$WSGI_CGI" --listen "127.0.0.1:$port" --protocol fastcgi app.py \
	    2>>server.log &
	SERVER_PID=$!
	for i in $(seq 50); do
		gw fastcgi "127.0.0.1:$port" >/dev/null 2>&1 && break
		sleep 0.1
	done
	run gw fastcgi "127.0.0.1:$port"
	assert_success
	assert_line 'Hello from a server mode'
	run curl -sS "http://127.0.0.1:$port/"
	assert_failure 52
	serve_stop
}

@test "workers: --socket-mode sets the Unix socket's mode; bad options are usage errors" {
	serve_start "$BATS_TEST_TMPDIR" --socket-mode 660 app.py
	run stat -c %a "$SOCK"
	assert_output 660
	serve_stop
	run --separate-stderr wsgi_cgi --listen "$BATS_TEST_TMPDIR/x.sock" --workers 0 app.py
	assert_failure 2
	assert_stderr_line 0 "wsgi-cgi: --workers: 0 is not a valid value"
	run --separate-stderr wsgi_cgi --listen "$BATS_TEST_TMPDIR/x.sock" --protocol gopher app.py
	assert_failure 2
	run --separate-stderr wsgi_cgi --listen 127.0.0.1 app.py
	assert_failure 2
	assert_equal "$stderr" "wsgi-cgi: --listen 127.0.0.1: not HOST:PORT, unix:PATH or /PATH"
}

@test "workers: spawned with fd 0 listening, PHP_FCGI_CHILDREN and PHP_FCGI_MAX_REQUESTS are honoured" {
	rm -f "$BATS_TEST_TMPDIR/s.sock"
	"$PYTHON3" -c 'import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen()
os.dup2(s.fileno(), 0)
os.execv(sys.argv[2], sys.argv[2:])' "$BATS_TEST_TMPDIR/s.sock" \
	    /usr/bin/env PHP_FCGI_CHILDREN=3 PHP_FCGI_MAX_REQUESTS=2 \
	    "$WSGI_CGI" app.py 2>>server.log &
	SERVER_PID=$!
	SOCK=$BATS_TEST_TMPDIR/s.sock
	for i in $(seq 100); do
		[ "$(pgrep -P "$SERVER_PID" | wc -l)" -eq 3 ] && break
		sleep 0.05
	done
	run pgrep -P "$SERVER_PID"
	assert_equal "${#lines[@]}" 3
	# Two requests each: after nine, more than three pids answered.
	run pids 9
	[ "${#lines[@]}" -gt 3 ]
}

@test "workers: a FastCGI connection kept open and idle neither delays a stop nor logs a fault" {
	serve_start "$BATS_TEST_TMPDIR" --timeout 30 app.py
	# One request with FCGI_KEEP_CONN, then the connection stays open.
	"$PYTHON3" -c 'import sys, time
sys.path.insert(0, sys.argv[2])
import gwclient
s = gwclient.connect(sys.argv[1])
env = [(b"REQUEST_METHOD", b"GET"), (b"SERVER_PROTOCOL", b"HTTP/1.1")]
s.sendall(gwclient.fcgi_request(env, b"", keep=True))
sys.stdout.buffer.write(gwclient.fcgi_response(s))
sys.stdout.flush()
time.sleep(20)' "$SOCK" "$TESTS/tools" >kept.out 2>/dev/null &
	kept=$!
	for i in $(seq 50); do
		grep -q 'Hello from a server mode' kept.out 2>/dev/null && break
		sleep 0.1
	done
	start=$(date +%s)
	kill -TERM "$SERVER_PID"
	rc=0
	timeout 10 tail --pid="$SERVER_PID" -f /dev/null || rc=$?
	kill "$kept" 2>/dev/null || true
	assert_equal "$rc" 0
	[ $(($(date +%s) - start)) -le 3 ]
	run cat server.log
	refute_output --partial 'stopped sending'
}
