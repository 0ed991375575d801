#!/usr/bin/env bats
# --request-timeout and --max-rss: a request that runs too long is ended
# (504, its stack in the log), a worker that grew is renewed, and serving
# goes on throughout.
load helpers

setup_file() {
	export FILE_DIR=$BATS_FILE_TMPDIR
	cp "$APPS/limits.py" "$FILE_DIR/app.py"
}

# Each test's own server, stopped even when the test fails.
teardown() {
	serve_stop
}

# get DIR PATH: the response to GET PATH on DIR/s.sock, status line first.
get() {
	curl -sS -i --max-time 30 --unix-socket "$1/s.sock" "http://x$2"
}

@test "limits: a request spinning in Python past --request-timeout is stopped: 504, its stack, the worker stays" {
	local dir=$BATS_TEST_TMPDIR pid
	serve_start "$dir" --protocol http --request-timeout 1 "$FILE_DIR/app.py"
	run get "$dir" /
	assert_success
	pid=${lines[-1]}
	run get "$dir" /loop
	assert_success
	assert_line --index 0 $'HTTP/1.1 504 Gateway Timeout\r'
	assert_line 'Gateway Timeout'
	wait_count 1 'GET /loop: running for 1 s, past --request-timeout: stopping it; its stack, most recent call first:$' "$dir/server.log"
	wait_count 1 "^  File \"$FILE_DIR/app.py\", line 14 in application$" "$dir/server.log"
	wait_count 1 'GET /loop: ended by --request-timeout: 504$' "$dir/server.log"
	# Stopped, not left behind: the same worker serves on.
	run get "$dir" /
	assert_success
	assert_equal "${lines[-1]}" "$pid"
	serve_stop
}

@test "limits: a request sleeping past --request-timeout is left behind: 504, the worker renewed after its other requests" {
	local dir=$BATS_TEST_TMPDIR
	serve_start "$dir" --protocol http --workers 1 --threads 4 \
	    --request-timeout 4 "$FILE_DIR/app.py"
	get "$dir" /sleep >"$dir/slept" 3>&- &
	wait_count 1 'GET /sleep: running for 4 s, past --request-timeout: stopping it' "$dir/server.log"
	# Another thread's request, running when the worker is renewed.
	get "$dir" "/hold?$dir/go" >"$dir/held" 3>&- &
	wait_count 1 '^holding$' "$dir/server.log"
	wait_count 1 'GET /sleep: did not stop: left behind, the worker is renewed; its stack, most recent call first:$' "$dir/server.log"
	# Its stack when it was asked to stop, and when it was left behind.
	wait_count 2 "^  File \"$FILE_DIR/app.py\", line 17 in application$" "$dir/server.log"
	wait_count 1 '^HTTP/1.1 504 Gateway Timeout' "$dir/slept"
	# The held request is served to its end, then the worker goes.
	touch "$dir/go"
	wait_count 1 '^HTTP/1.1 200 OK' "$dir/held"
	run get "$dir" /
	assert_success
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	serve_stop
}

@test "limits: a worker past --max-rss after a request is renewed; no request fails" {
	local dir=$BATS_TEST_TMPDIR i rss
	# What the process holds once it has served (the ASan build holds
	# more), and a limit 150 MiB above it.
	serve_start "$dir" --protocol http "$FILE_DIR/app.py"
	run get "$dir" /
	rss=$(awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$SERVER_PID/status")
	serve_stop
	serve_start "$dir" --protocol http --workers 1 \
	    --max-rss "$((rss + 150))" "$FILE_DIR/app.py"
	# 100 MiB, then 200: past the limit after the second.
	for i in 1 2; do
		run get "$dir" /grow?100
		assert_success
		assert_line --index 0 $'HTTP/1.1 200 OK\r'
	done
	wait_count 1 'MiB, past --max-rss: renewing the worker$' "$dir/server.log"
	# A new image (the process executes itself again) holds none.
	run get "$dir" /
	assert_success
	assert_line --regexp '^[0-9]+ held 0$'
	serve_stop
}
