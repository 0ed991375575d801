#!/usr/bin/env bats
# Server modes behind a real lighttpd that spawns the script itself
# (bin-path, the socket on fd 0, as php-cgi is run): FastCGI through
# mod_fastcgi, SCGI and uwsgi through mod_scgi.  The same requests under
# each protocol, and the same bytes as under CGI.
load helpers

setup_file() {
	export DIR=$BATS_FILE_TMPDIR
	mkdir -p "$DIR/www"
	{ echo "#!$WSGI_CGI"; cat "$APPS/served.py"; } >"$DIR/app.py"
	chmod +x "$DIR/app.py"
	head -c 50000000 /dev/urandom >"$DIR/blob"
	local p
	for p in fastcgi scgi uwsgi; do
		cp "$DIR/app.py" "$DIR/$p.py"
	done
	lighttpd_start "$DIR" \
	    'server.modules += ( "mod_fastcgi", "mod_scgi" )' \
	    "fastcgi.server = ( \"/fastcgi\" => (( \"socket\" => \"$DIR/fastcgi.sock\", \"bin-path\" => \"$DIR/fastcgi.py\", \"check-local\" => \"disable\", \"max-procs\" => 1, \"bin-environment\" => ( \"BLOB\" => \"$DIR/blob\" ) )) )" \
	    "\$HTTP[\"url\"] =~ \"^/scgi\" { scgi.server = ( \"/scgi\" => (( \"socket\" => \"$DIR/scgi.sock\", \"bin-path\" => \"$DIR/scgi.py\", \"check-local\" => \"disable\", \"max-procs\" => 1, \"bin-environment\" => ( \"BLOB\" => \"$DIR/blob\" ) )) ) }" \
	    "\$HTTP[\"url\"] =~ \"^/uwsgi\" { scgi.protocol = \"uwsgi\"
	    scgi.server = ( \"/uwsgi\" => (( \"socket\" => \"$DIR/uwsgi.sock\", \"bin-path\" => \"$DIR/uwsgi.py\", \"check-local\" => \"disable\", \"max-procs\" => 1, \"bin-environment\" => ( \"BLOB\" => \"$DIR/blob\" ) )) ) }"
}

teardown_file() {
	lighttpd_stop "$DIR"
	assert_gone "$DIR/fastcgi.py"
}

@test "gateways: GET and HEAD over FastCGI, SCGI and uwsgi" {
	for p in fastcgi scgi uwsgi; do
		run curl -sS -i "$LIGHTTPD_URL/$p/"
		assert_line --index 0 $'HTTP/1.1 200 OK\r'
		assert_line $'Content-Length: 25\r'
		assert_line 'Hello from a server mode'
		run curl -sS -I "$LIGHTTPD_URL/$p/"
		assert_line --index 0 $'HTTP/1.1 200 OK\r'
		assert_line $'Content-Length: 25\r'
	done
}

@test "gateways: a persistent process: one pid, wsgi.run_once False" {
	for p in fastcgi scgi uwsgi; do
		a=$(curl -sS "$LIGHTTPD_URL/$p/pid")
		b=$(curl -sS "$LIGHTTPD_URL/$p/pid")
		assert_equal "$a" "$b"
		run curl -sS "$LIGHTTPD_URL/$p/env"
		assert_line 'wsgi.run_once=False'
		assert_line 'wsgi.multiprocess=False'
		assert_line "SCRIPT_NAME='/$p'"
		assert_line "PATH_INFO='/env'"
		assert_line "REQUEST_METHOD='GET'"
	done
}

@test "gateways: a UTF-8 path and a query string arrive as latin-1 bytes" {
	for p in fastcgi scgi uwsgi; do
		run curl -sS "$LIGHTTPD_URL/$p/%C3%A9t%C3%A9/env?q=%C3%A9&x=1"
		# The bytes C3 A9 as two latin-1 characters (PEP 3333).
		assert_line "PATH_INFO='/Ã©tÃ©/env'"
		assert_line "QUERY_STRING='q=%C3%A9&x=1'"
	done
}

@test "gateways: POST bodies of 0 B to 50 MB arrive whole (sha256)" {
	for size in 0 1 65535 65536 1000000 50000000; do
		head -c "$size" "$DIR/blob" >"$BATS_TEST_TMPDIR/body"
		expected="$size $(sha256sum <"$BATS_TEST_TMPDIR/body" | cut -d' ' -f1)"
		for p in fastcgi scgi uwsgi; do
			run curl -sS --data-binary @"$BATS_TEST_TMPDIR/body" \
			    "$LIGHTTPD_URL/$p/sha256"
			assert_output "$expected"
		done
	done
}

@test "gateways: a body the app leaves unread does not become the next request" {
	head -c 300000 "$DIR/blob" >"$BATS_TEST_TMPDIR/body"
	for p in fastcgi scgi uwsgi; do
		for i in 1 2 3; do
			run curl -sS --data-binary @"$BATS_TEST_TMPDIR/body" \
			    "$LIGHTTPD_URL/$p/ignore-body"
			assert_output 'body left unread'
			run curl -sS "$LIGHTTPD_URL/$p/"
			assert_output 'Hello from a server mode'
		done
	done
}

@test "gateways: a 50 MB file_wrapper download arrives whole" {
	expected=$(sha256sum <"$DIR/blob" | cut -d' ' -f1)
	for p in fastcgi scgi uwsgi; do
		run bash -c "curl -sS '$LIGHTTPD_URL/$p/blob' | sha256sum"
		assert_output "$expected  -"
	done
}

@test "gateways: a streamed block arrives before the app goes on" {
	for p in fastcgi scgi uwsgi; do
		marker=$BATS_TEST_TMPDIR/seen-$p
		run bash -c "curl -sSN '$LIGHTTPD_URL/$p/stream?$marker' |
		    while read -r line; do echo \"\$line\"; touch '$marker'; done"
		assert_output $'first\nsecond'
		[ -e "$marker" ]
	done
}

@test "gateways: an app error is a 500; the traceback goes to the log, not the page" {
	for p in fastcgi scgi uwsgi; do
		run curl -sS -i "$LIGHTTPD_URL/$p/error"
		assert_line --index 0 $'HTTP/1.1 500 Internal Server Error\r'
		refute_output --partial Traceback
		wait_count 1 "wsgi-cgi: $DIR/$p.py: GET /$p/error: application error: RuntimeError: served.py failed on purpose" "$DIR/error.log"
	done
	wait_count 6 'RuntimeError: served.py failed on purpose$' "$DIR/error.log"
}

@test "gateways: the same bytes as under CGI (but run_once and multiprocess)" {
	for path in / /env?x=1 /error; do
		cgi=$(env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET \
		    SERVER_PROTOCOL=HTTP/1.1 PATH_INFO="${path%%\?*}" \
		    "$WSGI_CGI" "$DIR/app.py" 2>/dev/null | sed 1d |
		    sed -e '/^Content-Length/d' -e '/^wsgi.run_once=/d' \
		    -e '/^wsgi.multiprocess=/d' | grep -v '^[A-Z_]*=' || true)
		for p in fastcgi scgi uwsgi; do
			ours=$(curl -sS -i "$LIGHTTPD_URL/$p$path" | sed 1d |
			    sed -e '/^Date: /d' -e '/^Server: /d' \
			    -e '/^Accept-Ranges: /d' -e '/^Content-Length/d' \
			    -e '/^wsgi.run_once=/d' -e '/^wsgi.multiprocess=/d' |
			    grep -v '^[A-Z_]*=' || true)
			assert_equal "$ours" "$cgi"
		done
	done
}
