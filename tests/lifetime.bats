#!/usr/bin/env bats
# The objects handed to the application, and their limits: after the
# request, from several threads at once, and with arguments PEP 3333 does
# not allow.  The ASan build runs these too: a dangling pointer or a double
# free is a failure there.
load helpers

lifetime() {
	cgi_raw PATH_INFO="$1" "${@:2}" -- "$APPS/lifetime.py"
}

@test "write and start_response from an atexit handler or a thread after the request raise a clear error" {
	run --separate-stderr lifetime /after
	assert_success
	run raw_output
	assert_output 'Status: 200 OK\r
Content-Length: 5\r
\r
body'
	refute_output --partial late
	# Twice: once from the thread, once from atexit.
	run grep -c "after the request: write: RuntimeError: the request has ended: write() and start_response() work only during it" <<<"$stderr"
	assert_output 2
	run grep -c "after the request: start_response: RuntimeError: the request has ended" <<<"$stderr"
	assert_output 2
	run grep -c "after the request: wsgi.input: ValueError: wsgi.input: the request has ended" <<<"$stderr"
	assert_output 2
	refute_output --partial worked
}

@test "six threads writing 64 KiB at once while the reader goes away: no crash, no stray write" {
	for i in $(seq 5); do
		# The reader takes a little of the response and closes the pipe.
		env -i PATH_INFO=/threads "$WSGI_CGI" "$APPS/lifetime.py" \
		    </dev/null 2>"$BATS_TEST_TMPDIR/err" | head -c 100000 \
		    >/dev/null
		rc=${PIPESTATUS[0]}
		run cat "$BATS_TEST_TMPDIR/err"
		assert_equal "$rc" 1
		assert_line "threads done: 6 gave up"
		assert_line "wsgi-cgi: $APPS/lifetime.py: GET /threads: cannot write the response: Broken pipe"
	done
}

@test "start_response with exc_info (None, None, None) is a TypeError, not a crash" {
	run --separate-stderr lifetime /exc-info-none
	run printf '%s\n' "$stderr"
	assert_line "TypeError: exc_info must be the (type, value, traceback) of sys.exc_info() in an except block, not (None, None, None)"
	run raw_output
	assert_output 'Status: 200 OK\r
\r
sent!'
}

@test "a 1xx status is refused at the call: the body never becomes the response" {
	for code in '100%20Continue' '101%20Switching%20Protocols' \
	    '103%20Early%20Hints'; do
		run --separate-stderr lifetime /interim QUERY_STRING="$code"
		assert_failure 1
		run printf '%s\n' "$stderr"
		assert_line --index 0 "ValueError: status '${code//%20/ }': a 1xx status is interim and the server's to send; the application's final status is 200-599"
		run raw_output
		assert_line --index 0 'Status: 500 Internal Server Error\r'
		refute_output --partial '<script>'
	done
}

@test "file_wrapper of a file whose size lies (/proc, sysfs) sends its real content, framed" {
	for file in /proc/self/status /proc/version \
	    /sys/kernel/mm/transparent_hugepage/enabled; do
		[ -r "$file" ] || continue
		run --separate-stderr lifetime /proc FILE="$file"
		assert_success
		# Everything after the blank line is the body; a Content-Length
		# is given only with the body's real length.
		body=$(sed '1,/^\r$/d' "$BATS_TEST_TMPDIR/out" | wc -c)
		[ "$body" -gt 0 ]
		if grep -q '^Content-Length' "$BATS_TEST_TMPDIR/out"; then
			run grep '^Content-Length' "$BATS_TEST_TMPDIR/out"
			assert_output "Content-Length: $body"$'\r'
		fi
	done
	run --separate-stderr lifetime /proc FILE=/proc/version
	run sed '1,/^\r$/d' "$BATS_TEST_TMPDIR/out"
	assert_output "$(cat /proc/version)"
}
