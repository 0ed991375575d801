#!/usr/bin/env bats
# Server modes started on their own (--listen HOST:PORT with --protocol
# naming the three gateway protocols), behind nginx (fastcgi_pass, scgi_pass, uwsgi_pass) and
# Apache (mod_proxy_fcgi, mod_proxy_scgi, mod_proxy_uwsgi): one wsgi-cgi,
# each protocol detected from a connection's first bytes.
load helpers

setup_file() {
	export DIR=$BATS_FILE_TMPDIR
	cp "$APPS/served.py" "$DIR/app.py"
	head -c 20000000 /dev/urandom >"$DIR/blob"
	chmod 755 "$DIR"
	port=$(free_port)
	export UP=127.0.0.1:$port
	BLOB=$DIR/blob "$WSGI_CGI" --listen "$UP" --protocol fastcgi \
	    --protocol scgi --protocol uwsgi --workers 2 \
	    "$DIR/app.py" 2>>"$DIR/server.log" 3>&- &
	echo $! >"$DIR/server.pid"
	for i in $(seq 100); do
		gw scgi "$UP" >/dev/null 2>&1 && break
		sleep 0.05
	done
	nginx_start "$DIR" "$UP"
	apache_proxy_start "$DIR" "$UP"
}

teardown_file() {
	nginx_stop "$DIR"
	stop_pid "$DIR/apache.ppid"
	stop_pid "$DIR/server.pid"
}

@test "proxies: nginx and Apache, GET and HEAD over each protocol" {
	for url in "$NGINX_URL" "$APACHE_URL"; do
		for p in fastcgi scgi uwsgi; do
			run curl -sS -i "$url/$p/hello"
			assert_line --index 0 $'HTTP/1.1 200 OK\r'
			assert_line 'Hello from a server mode'
			run curl -sS -I "$url/$p/hello"
			assert_line --index 0 $'HTTP/1.1 200 OK\r'
			refute_line 'Hello from a server mode'
		done
	done
}

@test "proxies: the request's variables reach the app" {
	for url in "$NGINX_URL" "$APACHE_URL"; do
		for p in fastcgi scgi uwsgi; do
			run curl -sS "$url/$p/x/env?q=%C3%A9"
			assert_line "REQUEST_METHOD='GET'"
			assert_line "QUERY_STRING='q=%C3%A9'"
			assert_line "SCRIPT_NAME='/$p'"
			assert_line "PATH_INFO='/x/env'"
			assert_line 'wsgi.multiprocess=True'
		done
	done
}

@test "proxies: POST bodies up to 20 MB (sha256), and a 20 MB download" {
	for size in 0 70000 20000000; do
		head -c "$size" "$DIR/blob" >"$BATS_TEST_TMPDIR/body"
		expected="$size $(sha256sum <"$BATS_TEST_TMPDIR/body" | cut -d' ' -f1)"
		for url in "$NGINX_URL" "$APACHE_URL"; do
			for p in fastcgi scgi uwsgi; do
				run curl -sS --data-binary @"$BATS_TEST_TMPDIR/body" \
				    "$url/$p/sha256"
				assert_output "$expected"
			done
		done
	done
	expected=$(sha256sum <"$DIR/blob" | cut -d' ' -f1)
	for url in "$NGINX_URL" "$APACHE_URL"; do
		for p in fastcgi scgi uwsgi; do
			run bash -c "curl -sS '$url/$p/blob' | sha256sum"
			assert_output "$expected  -"
		done
	done
}

@test "proxies: an app error is a 500 with wsgi-cgi's generic body" {
	for url in "$NGINX_URL" "$APACHE_URL"; do
		for p in fastcgi scgi uwsgi; do
			run curl -sS -i "$url/$p/error"
			assert_line --index 0 $'HTTP/1.1 500 Internal Server Error\r'
			refute_output --partial Traceback
		done
	done
	# SCGI and uwsgi: the traceback on wsgi-cgi's stderr (twice four
	# lines); FastCGI: in FCGI_STDERR records, which the web servers log.
	wait_count 8 'RuntimeError: served.py failed on purpose$' "$DIR/server.log"
	wait_count 1 'FastCGI sent in stderr: "wsgi-cgi: .*: GET /fastcgi/error: application error: RuntimeError' "$DIR/nginx.log"
	wait_count 1 '^  File ".*app.py", line [0-9]*, in application$' "$DIR/nginx.log"
	wait_count 1 'proxy_fcgi:error.*AH01071: Got error' "$DIR/apache.log"
}

@test "proxies: concurrent clients through nginx, no errors" {
	for i in $(seq 40); do
		curl -sS -o /dev/null -w '%{http_code}\n' \
		    "$NGINX_URL/$(echo fastcgi scgi uwsgi | cut -d' ' -f$((i % 3 + 1)))/hello" &
	done >"$BATS_TEST_TMPDIR/codes"
	wait
	run sort -u "$BATS_TEST_TMPDIR/codes"
	assert_output 200
}
