#!/usr/bin/env bats
# Real frameworks from Debian's packages behind lighttpd: each app's
# responses under wsgi-cgi equal the same app's under python3 + wsgiref's
# CGIHandler, served by the same lighttpd (/app/ and /ref/); and the same
# apps served persistently, over FastCGI (/srv/) and HTTP (/http/), give
# the bytes they give under CGI.
load helpers

setup_file() {
	export DIR=$BATS_FILE_TMPDIR
	mkdir -p "$DIR/www/app" "$DIR/www/ref"
	cp "$APPS"/frameworks/*.py "$DIR/www/app/"
	cp "$APPS"/frameworks/*.py "$DIR/www/ref/"
	# The same apps served persistently (FastCGI, lighttpd's bin-path).
	mkdir -p "$DIR/srv"
	local fw port servers= proxies= maps=
	for fw in flask django bottle falcon werkzeug; do
		{ echo "#!$WSGI_CGI"; cat "$APPS/frameworks/${fw}_app.py"; } \
		    >"$DIR/srv/${fw}_app.py"
		chmod +x "$DIR/srv/${fw}_app.py"
		servers="$servers${servers:+, }\"/srv/$fw\" => (( \"socket\" => \"$DIR/srv/$fw.sock\", \"bin-path\" => \"$DIR/srv/${fw}_app.py\", \"max-procs\" => 1, \"check-local\" => \"disable\" ))"
	done
	# And over HTTP, one port each, behind lighttpd's mod_proxy at
	# /http/FRAMEWORK/ (the prefix taken off).
	for fw in flask django bottle falcon werkzeug; do
		port=$(free_port)
		"$WSGI_CGI" --listen "127.0.0.1:$port" "$DIR/srv/${fw}_app.py" \
		    >>"$DIR/http.log" 2>&1 3>&- &
		echo $! >"$DIR/srv/$fw.pid"
		wait_http "http://127.0.0.1:$port/"
		proxies="$proxies${proxies:+, }\"/http/$fw/\" => (( \"host\" => \"127.0.0.1\", \"port\" => $port ))"
		maps="$maps${maps:+, }\"/http/$fw/\" => \"/\""
	done
	lighttpd_start "$DIR" \
	    'server.modules += ( "mod_proxy" )' \
	    "proxy.server = ( $proxies )" \
	    "proxy.header = ( \"map-urlpath\" => ( $maps ) )" \
	    "\$HTTP[\"url\"] =~ \"^/ref/\" { cgi.assign = ( \".py\" => \"$PYTHON3\" ) }" \
	    'server.modules += ( "mod_fastcgi" )' \
	    "fastcgi.server = ( $servers )"
}

teardown_file() {
	lighttpd_stop "$DIR"
	for fw in flask django bottle falcon werkzeug; do
		stop_pid "$DIR/srv/$fw.pid"
	done
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

# served WAY FRAMEWORK PATH [CURL ARGS...]: the app served persistently,
# at /srv/ (FastCGI) or /http/ (HTTP behind lighttpd's mod_proxy, which
# takes the prefix off), gives the bytes it gives under CGI (its URL mapped
# back).
served() {
	local way=$1 app=$2 path=$3
	shift 3
	curl -sS -i "$@" "$LIGHTTPD_URL/$way/$app$path" |
	    sed "s|/$way/$app|/app/${app}_app.py|g" >"$BATS_TEST_TMPDIR/$way"
	curl -sS -i "$@" "$LIGHTTPD_URL/app/${app}_app.py$path" \
	    >"$BATS_TEST_TMPDIR/cgi"
	if [ "$way" = http ]; then
		# mod_proxy took /http/FRAMEWORK off: the app saw no prefix.
		sed -i "s|/app/${app}_app.py||g" "$BATS_TEST_TMPDIR/cgi"
	fi
	assert_equal "$(normalize <"$BATS_TEST_TMPDIR/$way")" \
	    "$(normalize <"$BATS_TEST_TMPDIR/cgi")"
}

@test "the five frameworks served over FastCGI give the bytes they give under CGI" {
	for fw in flask django bottle falcon werkzeug; do
		served srv "$fw" '/hello?name=Ada'
		served srv "$fw" /form --data 'field=caf%C3%A9'
		served srv "$fw" /json
		served srv "$fw" /error
		served srv "$fw" /no-such-route
		run cat "$BATS_TEST_TMPDIR/srv"
		assert_line --index 0 --regexp $'^HTTP/1.1 404 .*\r$'
	done
}

@test "the five frameworks served over HTTP behind lighttpd's mod_proxy give the bytes they give under CGI" {
	for fw in flask django bottle falcon werkzeug; do
		served http "$fw" '/hello?name=Ada'
		run cat "$BATS_TEST_TMPDIR/http"
		assert_line 'Hello, Ada!'
		served http "$fw" /form --data 'field=caf%C3%A9'
		served http "$fw" /json
		served http "$fw" /error
		served http "$fw" /no-such-route
		run cat "$BATS_TEST_TMPDIR/http"
		assert_line --index 0 --regexp $'^HTTP/1.1 404 .*\r$'
	done
}
