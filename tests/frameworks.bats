#!/usr/bin/env bats
# Real frameworks from Debian's packages behind lighttpd: each app's
# responses under wsgi-cgi equal the same app's under python3 + wsgiref's
# CGIHandler, served by the same lighttpd (/app/ and /ref/).
load helpers

setup_file() {
	export DIR=$BATS_FILE_TMPDIR
	mkdir -p "$DIR/www/app" "$DIR/www/ref"
	cp "$APPS"/frameworks/*.py "$DIR/www/app/"
	cp "$APPS"/frameworks/*.py "$DIR/www/ref/"
	lighttpd_start "$DIR" \
	    "\$HTTP[\"url\"] =~ \"^/ref/\" { cgi.assign = ( \".py\" => \"$PYTHON3\" ) }"
}

teardown_file() {
	lighttpd_stop "$DIR"
}

# The headers the server itself adds or chooses (framing, date) are left
# out: wsgi-cgi closes its response at the last byte, so lighttpd often
# sends a Content-Length where it chunks wsgiref's.  The test's own
# /ref/ directory is mapped back to /app/.
normalize() {
	sed -e '/^Date: /d' -e '/^Server: /d' -e '/^Accept-Ranges: /d' \
	    -e '/^Transfer-Encoding: /d' -e '/^Content-Length: /d' \
	    -e 's|/ref/|/app/|g'
}

# same FRAMEWORK PATH [CURL ARGS...]: both responses, compared.
same() {
	local app=$1 path=$2
	shift 2
	curl -sS -i "$@" "$LIGHTTPD_URL/app/${app}_app.py$path" \
	    >"$BATS_TEST_TMPDIR/ours"
	curl -sS -i "$@" "$LIGHTTPD_URL/ref/${app}_app.py$path" \
	    >"$BATS_TEST_TMPDIR/ref"
	# A Content-Length the reference has, ours has, with the same value.
	if grep -q '^Content-Length: ' "$BATS_TEST_TMPDIR/ref"; then
		assert_equal "$(grep '^Content-Length: ' "$BATS_TEST_TMPDIR/ours")" \
		    "$(grep '^Content-Length: ' "$BATS_TEST_TMPDIR/ref")"
	fi
	assert_equal "$(normalize <"$BATS_TEST_TMPDIR/ours")" \
	    "$(normalize <"$BATS_TEST_TMPDIR/ref")"
}

# every FRAMEWORK: the GET, POST form, JSON, error and 404 routes.
every() {
	same "$1" '/hello?name=Ada'
	run cat "$BATS_TEST_TMPDIR/ours"
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_line 'Hello, Ada!'
	same "$1" /form --data 'field=caf%C3%A9'
	run cat "$BATS_TEST_TMPDIR/ours"
	assert_line 'field=café'
	same "$1" /json
	run cat "$BATS_TEST_TMPDIR/ours"
	assert_output --regexp "\"framework\": ?\"$1\""
	same "$1" /error
	run cat "$BATS_TEST_TMPDIR/ours"
	assert_line --index 0 --regexp $'^HTTP/1.1 500 .*\r$'
	same "$1" /no-such-route
	run cat "$BATS_TEST_TMPDIR/ours"
	assert_line --index 0 --regexp $'^HTTP/1.1 404 .*\r$'
}

@test "Flask through lighttpd equals Flask under wsgiref" {
	every flask
}

@test "Django through lighttpd equals Django under wsgiref" {
	every django
}

@test "Bottle through lighttpd equals Bottle under wsgiref" {
	every bottle
}

@test "Falcon through lighttpd equals Falcon under wsgiref" {
	every falcon
}

@test "a raw Werkzeug app through lighttpd equals it under wsgiref" {
	every werkzeug
}
