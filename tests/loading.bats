#!/usr/bin/env bats
# Loading the script: module name, file names, sys.path, the interpreter's
# configuration (spec section 7); the bytecode cache is cache.bats.
load helpers

setup() {
	TAG=$("$PYTHON3" -c 'import sys; print(sys.implementation.cache_tag)')
}

@test "the script is a module that is not __main__, with __file__" {
	run --separate-stderr cgi_run -- "$APPS/environ.py"
	assert_success
	assert_line "__name__='_wsgi_cgi_script'"
	assert_line "__file__='$APPS/environ.py'"
}

@test "a __main__-guarded CGIHandler script runs under python3 and wsgi-cgi, once" {
	run --separate-stderr env -i REQUEST_METHOD=GET SERVER_NAME=x \
	    SERVER_PORT=80 SERVER_PROTOCOL=HTTP/1.0 "$PYTHON3" "$APPS/guarded.py"
	assert_success
	assert_line 'name=__main__'
	run --separate-stderr cgi_raw -- "$APPS/guarded.py"
	assert_success
	run grep -c '^Status:' "$BATS_TEST_TMPDIR/out"
	assert_output 1
	run cat "$BATS_TEST_TMPDIR/out"
	assert_line 'name=_wsgi_cgi_script'
}

@test "a classic .cgi script with an unguarded CGIHandler().run(app) is served" {
	run --separate-stderr cgi_raw -- "$APPS/classic.cgi"
	assert_success
	assert_equal "$stderr" ""
	run raw_output
	assert_output 'Status: 200 OK\r
Content-Type: text/plain\r
Content-Length: 8\r
\r
classic'
}

@test "any file name works: .py, .wsgi, .cgi, none" {
	for name in app.py app.wsgi app.cgi app; do
		cp "$APPS/hello.py" "$BATS_TEST_TMPDIR/$name"
		run --separate-stderr cgi_run -- "$BATS_TEST_TMPDIR/$name"
		assert_success
		assert_line 'Hello World!'
	done
}

@test "the script's real directory is first on sys.path; siblings import" {
	ln -s "$APPS/environ.py" "$BATS_TEST_TMPDIR/link.py"
	run --separate-stderr cgi_run -- "$BATS_TEST_TMPDIR/link.py"
	assert_success
	assert_line "sys.path[0]='$APPS'"
	assert_line "__file__='$BATS_TEST_TMPDIR/link.py'"
	run --separate-stderr cgi_run -- "$APPS/sibling.py"
	assert_success
	assert_line 'from the sibling module'
}

@test "sys.executable is the real Python interpreter" {
	run --separate-stderr cgi_run -- "$APPS/environ.py"
	exe=$(sed -n "s/^sys.executable='\(.*\)'$/\1/p" <<<"$output")
	run "$exe" -c 'import sys; print(sys.implementation.name)'
	assert_success
	assert_output cpython
}

@test "Debian's dist-packages import: a Flask app answers GET and POST" {
	run --separate-stderr cgi_run PATH_INFO=/hello QUERY_STRING=name=bob \
	    -- --callable app "$APPS/frameworks/flask_app.py"
	assert_success
	assert_line 'Hello, bob!'
	printf 'field=hello' >"$BATS_TEST_TMPDIR/body"
	STDIN=$BATS_TEST_TMPDIR/body run --separate-stderr cgi_run \
	    REQUEST_METHOD=POST PATH_INFO=/form CONTENT_LENGTH=11 \
	    CONTENT_TYPE=application/x-www-form-urlencoded -- \
	    --callable app "$APPS/frameworks/flask_app.py"
	assert_success
	assert_line 'field=hello'
}
