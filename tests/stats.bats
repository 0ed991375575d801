#!/usr/bin/env bats
# --stats HOST:PORT: the master answers GET /metrics in the Prometheus text
# format, read strictly (tests/tools/metrics.py) and by promtool: requests
# by protocol and status class, durations, in flight, workers busy and
# idle, renewals and why, resident memory, the listen queue; while every
# worker is busy too.
load helpers

setup_file() {
	export FILE_DIR=$BATS_FILE_TMPDIR
	cp "$APPS/concurrent.py" "$FILE_DIR/app.py"
	export PORT STATS
	PORT=$(free_port)
	STATS=$(free_port)
	"$WSGI_CGI" --listen "127.0.0.1:$PORT" --protocol http \
	    --protocol fastcgi --stats "127.0.0.1:$STATS" --workers 2 \
	    --max-requests 20 "$FILE_DIR/app.py" \
	    2>"$FILE_DIR/server.log" 3>&- &
	echo $! >"$FILE_DIR/pid"
	wait_http "http://127.0.0.1:$STATS/metrics"
	wait_http "http://127.0.0.1:$PORT/flags"
}

# A request still held is let go, so that the stop does not wait for it.
teardown_file() {
	: >"$FILE_DIR/release"
	kill "$(cat "$FILE_DIR/pid")" 2>/dev/null || true
}

metrics() {
	curl -sS -m 10 "http://127.0.0.1:$STATS/metrics" |
	    "$PYTHON3" "$TESTS/tools/metrics.py" "$@"
}

# wait_metric SAMPLE VALUE: until the page says so, 10 seconds at most.
wait_metric() {
	local i got
	for i in $(seq 100); do
		got=$(metrics "$1") && [ "$got" = "$1 $2" ] && return 0
		sleep 0.1
	done
	fail "$got, not $1 $2"
}

@test "stats: requests by protocol and status class, durations, renewals by max-requests; promtool finds nothing wrong" {
	local before
	before=$(metrics 'wsgi_cgi_requests_total{protocol="http",status="2xx"}' | cut -d' ' -f2)
	for i in $(seq 60); do
		curl -sS -o /dev/null "http://127.0.0.1:$PORT/flags"
	done
	run gw fastcgi "127.0.0.1:$PORT" REQUEST_METHOD=GET PATH_INFO=/flags
	assert_success
	wait_metric 'wsgi_cgi_requests_total{protocol="http",status="2xx"}' $((before + 60))
	wait_metric 'wsgi_cgi_requests_total{protocol="fastcgi",status="2xx"}' 1
	# 61 and more requests on 2 workers of 20: renewed once at least.
	run metrics 'wsgi_cgi_worker_renewals_total{reason="max_requests"}' \
	    'wsgi_cgi_worker_renewals_total{reason="crash"}' \
	    sum:wsgi_cgi_requests_total wsgi_cgi_request_duration_seconds_count \
	    wsgi_cgi_requests_in_flight wsgi_cgi_listen_queue_limit
	assert_success
	[ "$(echo "$output" | sed -n 1p | cut -d' ' -f2)" -ge 1 ]
	assert_line 'wsgi_cgi_worker_renewals_total{reason="crash"} 0'
	total=$(echo "$output" | sed -n 3p | cut -d' ' -f2)
	assert_line "wsgi_cgi_request_duration_seconds_count $total"
	assert_line 'wsgi_cgi_requests_in_flight 0'
	assert_line 'wsgi_cgi_listen_queue_limit 1024'
	run sh -c "curl -sS 'http://127.0.0.1:$STATS/metrics' | promtool check metrics"
	assert_success
	assert_output ''
}

@test "stats: answered while every worker is busy: in flight, busy and idle" {
	local held=$FILE_DIR/release c1 c2
	# One held request, then a second: the first worker is busy with the
	# first, so the other takes it (two at once could both land in one
	# worker's room before either sends its request).
	curl -sS "http://127.0.0.1:$PORT/hold?$held" >/dev/null &
	c1=$!
	wait_metric wsgi_cgi_requests_in_flight 1
	curl -sS "http://127.0.0.1:$PORT/hold?$held" >/dev/null &
	c2=$!
	wait_metric wsgi_cgi_requests_in_flight 2
	run metrics 'wsgi_cgi_workers{state="busy"}' 'wsgi_cgi_workers{state="idle"}'
	assert_success
	assert_output "$(printf 'wsgi_cgi_workers{state="busy"} 2\nwsgi_cgi_workers{state="idle"} 0')"
	: >"$held"
	wait "$c1" "$c2"
	wait_metric wsgi_cgi_requests_in_flight 0
}

@test "stats: a worker killed is counted as a crash; each worker's resident memory" {
	local w
	w=$(pgrep -P "$(cat "$FILE_DIR/pid")" | head -1)
	kill -KILL "$w"
	wait_metric 'wsgi_cgi_worker_renewals_total{reason="crash"}' 1
	run metrics 'wsgi_cgi_worker_resident_memory_bytes{worker="0"}'
	assert_success
	[ "$(echo "$output" | cut -d' ' -f2)" -gt 1000000 ]
}

@test "stats: another path is 404, another method 405; the application never sees them" {
	run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$STATS/"
	assert_output 404
	run curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$STATS/metrics"
	assert_output 405
	# A request the application sees writes "request ID" to its log.
	run grep -c '^request ' "$FILE_DIR/server.log"
	assert_failure
	assert_output 0
}

@test "stats: a Unix socket for --stats is a usage error" {
	run "$WSGI_CGI" --listen "$BATS_TEST_TMPDIR/s.sock" --stats "$BATS_TEST_TMPDIR/m.sock" "$FILE_DIR/app.py"
	assert_failure 2
	assert_output --partial 'HOST:PORT, not a Unix socket'
}
