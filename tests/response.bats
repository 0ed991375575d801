#!/usr/bin/env bats
# start_response, write(), the body and its headers (spec sections 4 and 5).
load helpers

# respond PATH [QUERY]: the response fixture for one case, from a shell.
respond() {
	cgi_raw "PATH_INFO=$1" "QUERY_STRING=${2:-}" \
	    "CLOSE_LOG=$BATS_TEST_TMPDIR/close.log" -- "$APPS/response.py"
}

@test "a one-block response: Status line, headers, Content-Length, body" {
	run --separate-stderr cgi_raw -- "$APPS/hello.py"
	assert_success
	assert_equal "$stderr" ""
	run raw_output
	assert_output 'Status: 200 OK\r
Content-Type: text/plain\r
Content-Length: 13\r
\r
Hello World!'
}

@test "status refused at call time: not str, too short, CR/LF, not latin-1" {
	run --separate-stderr respond /status-int
	assert_success
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output --partial 'TypeError: status must be str, not int: 200'
	run --separate-stderr respond /status-short
	assert_success
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output --partial "ValueError: status '200': status must be three digits"
	run --separate-stderr respond /status-crlf
	assert_success
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output --partial "ValueError: status '200 OK\\r\\nX-Injected: 1'"
	refute_output --partial $'\nX-Injected'
	run --separate-stderr respond /status-nonlatin
	assert_success
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output --partial "is not ISO-8859-1"
}

@test "headers refused at call time: shape, types, names, hop-by-hop, Status" {
	for c in headers-tuple:"TypeError: response_headers must be a list" \
	    header-list:"TypeError: header must be a (name, value) tuple" \
	    header-bytes:"TypeError: header name and value must be str" \
	    header-name-space:"header name must be an HTTP token" \
	    header-name-colon:"header name must be an HTTP token" \
	    header-nonlatin:"is not ISO-8859-1" \
	    hop-by-hop:"hop-by-hop headers are the server's" \
	    status-header:"a Status header is not allowed" \
	    length-bad:"Content-Length must be a decimal number"; do
		run --separate-stderr respond "/${c%%:*}"
		assert_success
		run cat "$BATS_TEST_TMPDIR/out"
		assert_output --partial "${c#*:}"
	done
}

@test "CR, LF and NUL then CRLF in a header value never reach the output" {
	for c in header-crlf header-lf header-nul-crlf; do
		run --separate-stderr respond "/$c"
		assert_success
		run raw_output
		assert_output --partial "ValueError: header ('X', 'a"
		assert_output --partial "must not contain control characters"
		refute_line --regexp '^X-Injected'
		run grep -c 'X-Injected: 1\r' "$BATS_TEST_TMPDIR/out"
		assert_output 0
	done
}

@test "a second start_response without exc_info raises" {
	run --separate-stderr respond /second-call
	assert_success
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output --partial 'AssertionError: start_response() called again without exc_info'
}

@test "exc_info before headers are sent replaces status and headers" {
	run --separate-stderr respond /exc-info-replace
	assert_success
	run raw_output
	assert_output 'Status: 503 Busy\r
X-Second: 1\r
Content-Length: 9\r
\r
replaced'
}

@test "exc_info after headers are sent re-raises: cut short, exit 1" {
	run --separate-stderr respond /exc-info-after-sent
	assert_failure 1
	run raw_output
	assert_output 'Status: 200 OK\r
Content-Type: text/plain\r
\r
partial'
	assert_equal "$(head -n 1 <<<"$stderr")" \
	    "wsgi-cgi: $APPS/response.py: GET /exc-info-after-sent: response cut short by an application error: KeyError: 'late'"
}

@test "headers wait for the first non-empty block: b'' then an error is a 500" {
	run --separate-stderr respond /withheld
	assert_failure 1
	run raw_output
	assert_output --partial 'Status: 500 Internal Server Error\r'
	refute_output --partial '200 OK'
}

@test "write() output comes before the iterable, with no Content-Length" {
	run --separate-stderr respond /write
	assert_success
	run raw_output
	assert_output 'Status: 200 OK\r
Content-Type: text/plain\r
\r
one two'
}

@test "body before start_response, or none at all, is a 500" {
	run --separate-stderr respond /body-before-start
	assert_failure 1
	assert_stderr_line 0 --partial "application error: RuntimeError: the application sent body data before calling start_response()"
	run --separate-stderr respond /no-start
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: $APPS/response.py: GET /no-start: the application returned without calling start_response()"
	run raw_output
	assert_output --partial 'Status: 500 Internal Server Error\r'
}

@test "start_response may be called inside the generator" {
	run --separate-stderr respond /start-in-generator
	assert_success
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output --partial 'late start'
}

@test "Content-Length: one block yes; several or a generator no; empty is 0" {
	run --separate-stderr respond /single
	assert_success
	run raw_output
	assert_output --partial 'Content-Length: 5\r'
	run --separate-stderr respond /two
	assert_success
	run raw_output
	refute_output --partial 'Content-Length'
	run --separate-stderr respond /generator
	assert_success
	run raw_output
	refute_output --partial 'Content-Length'
	run --separate-stderr respond /empty
	assert_success
	run raw_output
	assert_output 'Status: 200 OK\r
Content-Type: text/plain\r
Content-Length: 0\r
\r'
}

@test "a body returned with a 204 or 304 is dropped, with one line (RFC 9110 6.4.1)" {
	for code in 204 304; do
		run --separate-stderr respond "/$code-body"
		assert_success
		assert_equal "$stderr" "wsgi-cgi: $APPS/response.py: GET /$code-body: a $code response has no body: what the application returned for it is dropped"
		run raw_output
		assert_success
		assert_output "Status: $code X\r
\r"
	done
}

@test "no Content-Length of ours on 204 and 304 responses" {
	run --separate-stderr respond /204
	assert_success
	run raw_output
	assert_output 'Status: 204 X\r
\r'
	run --separate-stderr respond /304
	assert_success
	run raw_output
	assert_output 'Status: 304 X\r
\r'
}

@test "never more body than the declared Content-Length" {
	run --separate-stderr respond /declared-long
	assert_success
	assert_equal "$stderr" "wsgi-cgi: $APPS/response.py: GET /declared-long: body longer than its Content-Length (3 bytes): truncated"
	run raw_output
	assert_output 'Status: 200 OK\r
Content-Length: 3\r
\r
hel'
}

@test "a body shorter than its Content-Length is logged, exit 1" {
	run --separate-stderr respond /declared-short
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: $APPS/response.py: GET /declared-short: body shorter than its Content-Length (3 of 10 bytes)"
}

@test "a str body chunk is an error that names the fix" {
	run --separate-stderr respond /str-chunk
	assert_failure 1
	# Written once, naming the request and where the app is (a list has
	# no line of its own: the callable's definition).
	assert_equal "$stderr" "wsgi-cgi: $APPS/response.py: GET /str-chunk: application error: response body must be bytes, not str ('text'): write b'...' or call .encode() ($APPS/response.py, line $(grep -n "^def application" "$APPS/response.py" | cut -d: -f1))"
	run raw_output
	assert_output --partial 'Status: 500 Internal Server Error\r'
}

@test "bytearray and memoryview chunks are bytes too" {
	run --separate-stderr respond /byteslike
	assert_success
	run cat "$BATS_TEST_TMPDIR/out"
	assert_output --partial 'abcd'
}

@test "returning bytes itself, or None, is an application error" {
	run --separate-stderr respond /bytes-itself
	assert_failure 1
	assert_stderr_line 0 --partial 'TypeError: response body must be bytes, not int'
	run --separate-stderr respond /none
	assert_failure 1
	assert_stderr_line 0 --partial "TypeError: 'NoneType' object is not iterable"
}

@test "close() is called once: on success, on an error, when close raises" {
	run --separate-stderr respond /close
	assert_success
	run cat "$BATS_TEST_TMPDIR/close.log"
	assert_output "$(once_a_run closed)"
	rm "$BATS_TEST_TMPDIR/close.log"
	run --separate-stderr respond /close iter
	assert_failure 1
	run cat "$BATS_TEST_TMPDIR/close.log"
	assert_output "$(once_a_run closed)"
	rm "$BATS_TEST_TMPDIR/close.log"
	run --separate-stderr respond /close close
	assert_failure 1
	assert_stderr_line 0 "wsgi-cgi: $APPS/response.py: GET /close?close: error in close(): RuntimeError: failed in close"
	run cat "$BATS_TEST_TMPDIR/close.log"
	assert_output "$(once_a_run closed)"
}

@test "print(), os.write(1) and children cannot corrupt the response" {
	run --separate-stderr respond /print
	assert_success
	run raw_output
	assert_output 'Status: 200 OK\r
Content-Type: text/plain\r
Content-Length: 6\r
\r
clean'
	assert_equal "$(sort <<<"$stderr")" "$(printf 'child noise\nfd 1 noise\nprint noise')"
}

@test "wsgi.file_wrapper sends a real file from its position, with its length" {
	run --separate-stderr respond /file 100
	assert_success
	size=$(stat -c %s "$APPS/response.py")
	run raw_output
	assert_line --index 2 "Content-Length: $((size - 100))\\r"
	tail -c +101 "$APPS/response.py" >"$BATS_TEST_TMPDIR/expected"
	sed '1,/^\r$/d' "$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/body"
	run cmp "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/body"
	assert_success
}

@test "wsgi.file_wrapper honours a declared Content-Length" {
	run --separate-stderr respond /file-declared
	assert_success
	run raw_output
	assert_output 'Status: 200 OK\r
Content-Length: 7\r
\r
# One r'
}

@test "wsgi.file_wrapper without a descriptor falls back to reading blocks" {
	run --separate-stderr respond /file-bytesio
	assert_success
	sed '1,/^\r$/d' "$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/body"
	run stat -c %s "$BATS_TEST_TMPDIR/body"
	assert_output 10000
}

@test "sys.exit() in the application is an application error" {
	run --separate-stderr respond /exit
	assert_failure 1
	assert_stderr_line 0 "wsgi-cgi: $APPS/response.py: GET /exit: application error: SystemExit: 3"
}

@test "wsgi.errors takes any str, lone surrogates included" {
	run --separate-stderr respond /errors
	assert_success
	assert_stderr_line 0 'lone surrogate \udcff and snowman ☃'
	assert_stderr_line 1 'one'
}

@test "NPH scripts write an HTTP status line, Date and Connection: close" {
	run --separate-stderr cgi_raw SERVER_PROTOCOL=HTTP/1.1 -- \
	    "$APPS/nph-hello.py"
	assert_success
	run raw_output
	assert_line --index 0 'HTTP/1.1 200 OK\r'
	assert_line --index 1 'Content-Type: text/plain\r'
	assert_line --index 2 'Content-Length: 4\r'
	assert_line --index 3 --regexp '^Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT\\r$'
	assert_line --index 4 'Connection: close\r'
	assert_line --index 5 '\r'
	assert_line --index 6 'nph'
}

@test "NPH HEAD gets no body bytes; HTTP/1.0 no Connection header" {
	run --separate-stderr cgi_raw REQUEST_METHOD=HEAD -- "$APPS/nph-hello.py"
	assert_success
	run raw_output
	assert_line --index 0 'HTTP/1.0 200 OK\r'
	refute_output --partial 'Connection'
	refute_output --partial 'nph'
}

@test "each block is written before the next is asked for" {
	marker=$BATS_TEST_TMPDIR/seen
	run --separate-stderr bash -c 'env -i PATH_INFO=/stream MARKER="$2" \
	    "$0" "$1" | while IFS= read -r line; do
		echo "$line"
		if [ "$line" = first ]; then touch "$2"; fi
	done; exit ${PIPESTATUS[0]}' "$WSGI_CGI" "$APPS/response.py" "$marker"
	assert_success
	assert_line first
	assert_line second
}

@test "a large streamed body arrives whole" {
	run --separate-stderr respond /huge
	assert_success
	sed '1,/^\r$/d' "$BATS_TEST_TMPDIR/out" >"$BATS_TEST_TMPDIR/body"
	run stat -c %s "$BATS_TEST_TMPDIR/body"
	assert_output $((65536 * 64))
}

@test "HEAD: the app runs as usual but no body byte is written (RFC 3875 4.3.2)" {
	run --separate-stderr cgi_raw REQUEST_METHOD=HEAD PATH_INFO=/close \
	    "CLOSE_LOG=$BATS_TEST_TMPDIR/close.log" -- "$APPS/response.py"
	assert_success
	run raw_output
	assert_output 'Status: 200 OK\r
Content-Type: text/plain\r
\r'
	run cat "$BATS_TEST_TMPDIR/close.log"
	assert_output "$(once_a_run closed)"
	# Content-Length stays what the body would have had.
	run --separate-stderr cgi_raw REQUEST_METHOD=HEAD -- "$APPS/hello.py"
	assert_success
	run raw_output
	assert_output 'Status: 200 OK\r
Content-Type: text/plain\r
Content-Length: 13\r
\r'
	# A streamed body, and a file_wrapper body: none of it.
	run --separate-stderr cgi_raw REQUEST_METHOD=HEAD PATH_INFO=/proc \
	    FILE=/etc/passwd -- "$APPS/lifetime.py"
	assert_success
	run raw_output
	assert_output "Status: 200 OK\\r
Content-Length: $(stat -c %s /etc/passwd)\\r
\\r"
}
