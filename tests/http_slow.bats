#!/usr/bin/env bats
# HTTP: slow and idle clients wait in a worker's room, not in the worker,
# so that 50 of them do not starve a normal client; a full room makes way.
# One worker and a 30 s timeout: a client held by the worker would hold
# it far longer than a test's 10 s wait.
load helpers

setup_file() {
	export DIR=$BATS_FILE_TMPDIR
	export ADDR SMALL
	ADDR=127.0.0.1:$(free_port)
	SMALL=127.0.0.1:$(free_port)
	"$WSGI_CGI" --listen "$ADDR" --workers 1 --timeout 30 \
	    "$APPS/http_app.py" >>"$DIR/server.log" 2>&1 3>&- &
	echo $! >"$DIR/server.pid"
	# 40 descriptors: a room of 20 connections.
	(ulimit -n 40 && exec "$WSGI_CGI" --listen "$SMALL" --workers 1 \
	    --timeout 30 "$APPS/http_app.py") >>"$DIR/small.log" 2>&1 3>&- &
	echo $! >"$DIR/small.pid"
	wait_http "http://$ADDR/"
	wait_http "http://$SMALL/"
}

teardown_file() {
	stop_pid "$DIR/server.pid"
	stop_pid "$DIR/small.pid"
}

# slow ADDR N KIND: N such clients held, then a normal request's answer
# and how many of the N are still open (tests/tools/slowclients.py).
slow() {
	"$PYTHON3" "$TESTS/tools/slowclients.py" "$@" --wait 10
}

@test "slow clients: 50 sending half a head do not starve a normal one" {
	run slow "$ADDR" 50 head
	assert_line --index 0 'HTTP/1.1 200 OK'
	assert_line 'PATH_INFO=/ok'
	assert_line 'open: 50'
}

@test "slow clients: 50 with a small body a third sent do not starve a normal one" {
	run slow "$ADDR" 50 body
	assert_line --index 0 'HTTP/1.1 200 OK'
	assert_line 'PATH_INFO=/ok'
	assert_line 'open: 50'
	# The body that comes at last is the application's whole input.
	run "$PYTHON3" "$TESTS/tools/httpraw.py" "$ADDR" \
	    'POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789' \
	    --pieces 4 --delay 0.3
	assert_line --index 0 'HTTP/1.1 200 OK\r'
	assert_line --partial '0123456789'
}

@test "slow clients: 50 silent connections and 50 idle kept ones do not starve a normal one" {
	run slow "$ADDR" 50 silent
	assert_line --index 0 'HTTP/1.1 200 OK'
	assert_line 'open: 50'
	run slow "$ADDR" 50 idle
	assert_line --index 0 'HTTP/1.1 200 OK'
	assert_line 'open: 50'
}

@test "slow clients: a full room closes an idle kept connection, else the oldest waiting one" {
	# Idle kept connections make way quietly.
	run slow "$SMALL" 30 idle
	assert_line --index 0 'HTTP/1.1 200 OK'
	assert_line 'PATH_INFO=/ok'
	run grep -c 'too many connections' "$DIR/small.log"
	assert_output 0
	# Half heads: the oldest go, each with a line in the log.
	run slow "$SMALL" 30 head
	assert_line --index 0 'HTTP/1.1 200 OK'
	assert_line 'PATH_INFO=/ok'
	run grep -c 'too many connections waiting for a whole request' \
	    "$DIR/small.log"
	[ "$output" -ge 10 ]
}
