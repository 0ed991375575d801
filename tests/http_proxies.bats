#!/usr/bin/env bats
# HTTP/1.1 behind the reverse proxies of lighttpd (mod_proxy), nginx
# (proxy_pass) and Apache (mod_proxy_http), each at /http/, in front of
# one wsgi-cgi --listen HOST:PORT.  Servers start once for the file.
load helpers

setup_file() {
	export DIR=$BATS_FILE_TMPDIR
	local port
	port=$(free_port)
	export UP=127.0.0.1:$port
	"$WSGI_CGI" --listen "$UP" --workers 4 "$APPS/http_app.py" \
	    >>"$DIR/server.log" 2>&1 3>&- &
	echo $! >"$DIR/server.pid"
	wait_http "http://$UP/"
	mkdir -p "$DIR/www"
	lighttpd_start "$DIR" 'server.modules += ( "mod_proxy" )' \
	    "proxy.server = ( \"/http/\" => (( \"host\" => \"127.0.0.1\", \"port\" => $port )) )" \
	    'proxy.header = ( "map-urlpath" => ( "/http/" => "/" ) )'
	nginx_start "$DIR" "$UP"
	apache_proxy_start "$DIR" "$UP"
	export URLS="$LIGHTTPD_URL/http $NGINX_URL/http $APACHE_URL/http"
}

teardown_file() {
	lighttpd_stop "$DIR"
	nginx_stop "$DIR"
	apache_stop "$DIR"
	stop_pid "$DIR/server.pid"
}

@test "proxies: GET with a query and a decoded path, streamed responses" {
	local base
	for base in $URLS; do
		run curl -sS "$base/a%20b?x=1"
		assert_line 'PATH_INFO=/a b'
		assert_line 'QUERY_STRING=x=1'
		assert_line 'REQUEST_METHOD=GET'
		run curl -sS "$base/stream"
		assert_output $'one\ntwo'
	done
}

@test "proxies: a 50 MB POST arrives whole (sha256), with a length and chunked" {
	local base want got
	head -c 50000000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	want=$(sha256sum <"$BATS_TEST_TMPDIR/big" | cut -c1-64)
	for base in $NGINX_URL/http $APACHE_URL/http; do
		got=$(curl -sS --data-binary "@$BATS_TEST_TMPDIR/big" \
		    "$base/echo" | sha256sum | cut -c1-64)
		assert_equal "$got" "$want"
		got=$(curl -sS -H 'Transfer-Encoding: chunked' --data-binary \
		    "@$BATS_TEST_TMPDIR/big" "$base/echo" | sha256sum |
		    cut -c1-64)
		assert_equal "$got" "$want"
	done
	# lighttpd (server.max-request-size: 100 MiB here) with a length.
	got=$(curl -sS --data-binary "@$BATS_TEST_TMPDIR/big" \
	    "$LIGHTTPD_URL/http/echo" | sha256sum | cut -c1-64)
	assert_equal "$got" "$want"
}

@test "proxies: 100 concurrent clients through each, every body right" {
	local base
	for base in $URLS; do
		"$PYTHON3" - "$base/echo" <<-'PY'
		import concurrent.futures, sys, urllib.request
		def post(i):
		    data = b'n=%d' % i
		    with urllib.request.urlopen(sys.argv[1], data=data) as r:
		        return r.read() == data
		with concurrent.futures.ThreadPoolExecutor(100) as ex:
		    ok = list(ex.map(post, range(300)))
		sys.exit(0 if all(ok) else 'bad bodies: %d' % ok.count(False))
		PY
	done
	run grep -c 'HTTP: ' "$DIR/server.log"
	assert_output 0
}
