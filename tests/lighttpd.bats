#!/usr/bin/env bats
# Behind a real lighttpd (mod_cgi), driven with curl: cgi.assign and #!
# scripts, methods, bodies, paths, errors, streaming, disconnects.
load helpers

setup_file() {
	export DIR=$BATS_FILE_TMPDIR
	mkdir -p "$DIR/www/cgi-bin"
	cp "$APPS"/*.py "$DIR/www/"
	echo "CLOSE_LOG = '$DIR/close.log'" >"$DIR/www/close_log.py"
	{ echo "#!$WSGI_CGI"; cat "$APPS/environ.py"; } >"$DIR/www/cgi-bin/env"
	chmod +x "$DIR/www/cgi-bin/env"
	head -c 50000000 /dev/urandom >"$DIR/www/blob"
	# wsgi-cgi copied into cgi-bin (the Action shape), and a file that a
	# client could have uploaded.
	cp "$WSGI_CGI" "$DIR/www/cgi-bin/wsgi-cgi"
	mkdir "$DIR/www/uploads"
	printf '%s\n' 'def application(environ, start_response):' \
	    "    start_response('200 OK', [])" "    return [b'PWNED']" \
	    >"$DIR/www/uploads/avatar.txt"
	lighttpd_start "$DIR" \
	    "setenv.add-environment = ( \"CLOSE_LOG\" => \"$DIR/close.log\", \"MARKER\" => \"$DIR/marker\", \"CLEANUP_LOG\" => \"$DIR/cleanup.log\", \"APP_LOG\" => \"$DIR/app.log\" )"
}

teardown_file() {
	lighttpd_stop "$DIR"
}

@test "lighttpd: GET through cgi.assign" {
	run curl -sS -i "$LIGHTTPD_URL/hello.py"
	assert_success
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_line $'Content-Type: text/plain\r'
	assert_line $'Content-Length: 13\r'
	assert_line 'Hello World!'
}

@test "lighttpd: a #! script in cgi-bin, query string and PATH_INFO" {
	run curl -sS "$LIGHTTPD_URL/cgi-bin/env/a%20b?x=1&y=%C3%A9"
	assert_success
	assert_line "QUERY_STRING='x=1&y=%C3%A9'"
	assert_line "PATH_INFO='/a b'"
	assert_line "SCRIPT_NAME='/cgi-bin/env'"
	assert_line "GATEWAY_INTERFACE='CGI/1.1'"
	assert_line "sys.argv=['$DIR/www/cgi-bin/env']"
}

@test "lighttpd: a non-ASCII path reaches the app as latin-1 bytes" {
	run curl -sS "$LIGHTTPD_URL/environ.py/caf%C3%A9"
	assert_success
	assert_line "PATH_INFO='/cafÃ©'"
}

@test "lighttpd: HEAD gets the headers and no body" {
	run curl -sS -I "$LIGHTTPD_URL/response.py/head"
	assert_success
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_line $'Content-Length: 5\r'
	refute_line hello
}

@test "lighttpd: POST bodies of several sizes arrive whole (sha256)" {
	for size in 0 1 65535 65537 1048576 50000000; do
		head -c "$size" "$DIR/www/blob" >"$BATS_TEST_TMPDIR/body"
		expected="$size $(sha256sum <"$BATS_TEST_TMPDIR/body" | cut -d' ' -f1)"
		run curl -sS --data-binary @"$BATS_TEST_TMPDIR/body" \
		    -H 'Content-Type: application/octet-stream' \
		    "$LIGHTTPD_URL/input.py/sha256"
		assert_success
		assert_output "$expected"
	done
}

@test "lighttpd: a chunked upload (no Content-Length from the client)" {
	head -c 300000 "$DIR/www/blob" >"$BATS_TEST_TMPDIR/body"
	expected="300000 $(sha256sum <"$BATS_TEST_TMPDIR/body" | cut -d' ' -f1)"
	run curl -sS -H 'Transfer-Encoding: chunked' \
	    --data-binary @"$BATS_TEST_TMPDIR/body" "$LIGHTTPD_URL/input.py/sha256"
	assert_success
	assert_output "$expected"
}

@test "lighttpd: 404s and redirects" {
	run curl -sS -o /dev/null -w '%{http_code}' "$LIGHTTPD_URL/missing.py"
	assert_output 404
	run curl -sS -i "$LIGHTTPD_URL/response.py/notfound"
	assert_line --index 0 $'HTTP/1.1 404 Not Found\r'
	assert_line 'no such thing'
	run curl -sS -i "$LIGHTTPD_URL/response.py/redirect"
	assert_line --index 0 $'HTTP/1.1 302 Found\r'
	assert_line $'Location: http://example.org/x\r'
}

@test "lighttpd: an app error is a 500 page; the traceback is in the error log" {
	run curl -sS -i "$LIGHTTPD_URL/raise.py"
	assert_line --index 0 $'HTTP/1.1 500 Internal Server Error\r'
	assert_line 'A server error occurred.  Please contact the administrator.'
	refute_output --partial Traceback
	run cat "$DIR/error.log"
	assert_line "wsgi-cgi: $DIR/www/raise.py: GET /raise.py: application error: ZeroDivisionError: division by zero"
	assert_line 'Traceback (most recent call last):'
}

@test "lighttpd: a streamed response's first block arrives before the app ends" {
	rm -f "$DIR/marker"
	run bash -c 'curl -sS -N "$0/response.py/stream" |
	    while IFS= read -r line; do
		echo "$line"
		if [ "$line" = first ]; then touch "$1"; fi
	done' "$LIGHTTPD_URL" "$DIR/marker"
	assert_line first
	assert_line second
}

@test "lighttpd: a 50 MB download by file_wrapper arrives whole" {
	run bash -c 'curl -sS -D "$1" "$0/blob.py" | sha256sum' \
	    "$LIGHTTPD_URL" "$BATS_TEST_TMPDIR/headers"
	assert_output "$(sha256sum <"$DIR/www/blob")"
	run cat "$BATS_TEST_TMPDIR/headers"
	assert_line $'Content-Length: 50000000\r'
}

@test "lighttpd: a client gone mid-response leaves no process behind" {
	rm -f "$DIR/close.log"
	run bash -c 'curl -sS -N "$0/response.py/forever" 2>/dev/null |
	    head -c 1000000 | wc -c' "$LIGHTTPD_URL"
	assert_output 1000000
	assert_gone "$DIR/www/response.py"
	run cat "$DIR/close.log"
	assert_output closed
}

@test "lighttpd: a copy in cgi-bin never runs a file named in the URL (REDIRECT_STATUS=200 is not an Action)" {
	for url in /cgi-bin/wsgi-cgi/uploads/avatar.txt \
	    /cgi-bin/wsgi-cgi/uploads/avatar.txt/x \
	    "/cgi-bin/wsgi-cgi?$DIR/www/uploads/avatar.txt"; do
		run curl -sS -i "$LIGHTTPD_URL$url"
		assert_line --index 0 $'HTTP/1.1 500 Internal Server Error\r'
		refute_output --partial PWNED
	done
	run grep -c 'refusing direct access' "$DIR/error.log"
	refute_output 0
}

@test "lighttpd: 100 complete responses end clean: no SIGTERM report, atexit finished" {
	: >"$DIR/cleanup.log"
	before=$(wc -l <"$DIR/error.log")
	for i in $(seq 100); do
		curl -sS -o /dev/null -w '%{http_code}\n' \
		    "$LIGHTTPD_URL/clean_exit.py/$i"
	done >"$BATS_TEST_TMPDIR/codes"
	run sort -u "$BATS_TEST_TMPDIR/codes"
	assert_output 200
	assert_gone "$DIR/www/clean_exit.py"
	# lighttpd sent each process still running after its response a
	# SIGTERM: the clean-up still ran to the end, and nothing was logged.
	run wc -l <"$DIR/cleanup.log"
	assert_output 100
	run tail -n "+$((before + 1))" "$DIR/error.log"
	assert_output ""
}

@test "lighttpd: its SIGTERM once it has the whole response (by length, or HEAD's head) is no cut" {
	before=$(wc -l <"$DIR/error.log")
	for method in --get --head; do
		: >"$DIR/close.log"
		run curl -sS "$method" -o /dev/null -w '%{http_code} %{size_download}' \
		    "$LIGHTTPD_URL/response.py/whole-then-wait"
		assert_success
		assert_output "200 $([ "$method" = --get ] && echo 6 || echo 0)"
		# The iterator would wait 30 s: lighttpd's SIGTERM ends it.
		assert_gone "$DIR/www/response.py"
		for i in $(seq 50); do
			[ -s "$DIR/close.log" ] && break
			sleep 0.1
		done
		run cat "$DIR/close.log"
		assert_output closed
	done
	run tail -n "+$((before + 1))" "$DIR/error.log"
	assert_output ""
}
