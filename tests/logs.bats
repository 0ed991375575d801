#!/usr/bin/env bats
# --access-log=FILE: one whole line a request, from every worker and
# thread; SIGUSR1 reopens it (logrotate's mv, then postrotate), under load,
# with no line lost or cut.
load helpers

LINE='^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/20[0-9]{2}:[0-9:]{8} \+0000\] "(GET|POST) /c[0-9]+/r[0-9]+\?id=[0-9]+-[0-9]+&[^ "]* HTTP/1\.1" 200 [0-9]+ [0-9]+\.[0-9]{6}$'

teardown() {
	if [ -n "${OWN_PID:-}" ]; then
		kill "$OWN_PID" 2>/dev/null || true
		wait "$OWN_PID" 2>/dev/null || true
	fi
	if [ -n "${LOAD_PID:-}" ]; then
		kill "$LOAD_PID" 2>/dev/null || true
		wait "$LOAD_PID" 2>/dev/null || true
	fi
}

# lines FILE: how many lines FILE has (0 if it is not there).
lines() {
	if [ -e "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# wait_lines FILE N: until FILE has N lines at least, 20 seconds at most.
wait_lines() {
	local i
	for i in $(seq 200); do
		[ "$(lines "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "$1 has $(lines "$1") lines, not $2"
}

@test "logs: --access-log=FILE moved and reopened on SIGUSR1 under load: every request's line whole in one of the two" {
	local port dir=$BATS_TEST_TMPDIR
	cp "$APPS/concurrent.py" "$dir/app.py"
	port=$(free_port)
	"$WSGI_CGI" --listen "127.0.0.1:$port" --workers 2 --threads 4 \
	    --access-log="$dir/access.log" "$dir/app.py" \
	    2>"$dir/server.log" 3>&- &
	OWN_PID=$!
	wait_http "http://127.0.0.1:$port/flags"
	: >"$dir/access.log"
	# 8 clients of 60 requests each, while the log is rotated.
	"$PYTHON3" "$TESTS/tools/concurrent.py" http "127.0.0.1:$port" 8 60 \
	    >"$dir/load.out" 2>&1 &
	LOAD_PID=$!
	wait_lines "$dir/access.log" 100
	mv "$dir/access.log" "$dir/access.log.1"
	kill -USR1 "$OWN_PID"
	wait_lines "$dir/access.log" 1
	wait "$LOAD_PID" || fail "the clients failed: $(cat "$dir/load.out")"
	LOAD_PID=
	run cat "$dir/load.out"
	assert_output 'ok 480'
	run sh -c "cat '$dir/access.log.1' '$dir/access.log' | grep -Evc '$LINE'"
	assert_output 0
	run sh -c "cat '$dir/access.log.1' '$dir/access.log' | wc -l"
	assert_success
	assert_output 480
	[ "$(lines "$dir/access.log.1")" -ge 100 ]
	run grep -c 'access-log' "$dir/server.log"
	assert_failure
	assert_output 0
}

@test "logs: SIGUSR1 with the log on stderr, or to a single process, changes nothing else" {
	local dir=$BATS_TEST_TMPDIR
	cp "$APPS/concurrent.py" "$dir/app.py"
	serve_start "$dir" --protocol http --access-log "$dir/app.py"
	OWN_PID=$SERVER_PID
	kill -USR1 "$OWN_PID"
	run curl -sS --unix-socket "$SOCK" http://x/flags
	assert_success
	assert_output --partial 'multithread=False'
	wait_count 1 '"GET /flags HTTP/1.1" 200' "$dir/server.log"
	serve_stop
	OWN_PID=
	serve_start "$dir" --protocol http --access-log="$dir/one.log" "$dir/app.py"
	OWN_PID=$SERVER_PID
	mv "$dir/one.log" "$dir/one.log.1"
	kill -USR1 "$OWN_PID"
	wait_for test -e "$dir/one.log"
	run curl -sS --unix-socket "$SOCK" http://x/flags
	assert_success
	wait_count 1 '"GET /flags HTTP/1.1" 200' "$dir/one.log"
}

@test "logs: an --access-log=FILE that cannot be opened is a usage error" {
	run "$WSGI_CGI" --listen "$BATS_TEST_TMPDIR/s.sock" \
	    --access-log=/nonexistent/dir/access.log "$APPS/concurrent.py"
	assert_failure 2
	assert_output --partial '--access-log=/nonexistent/dir/access.log: No such file or directory'
}
