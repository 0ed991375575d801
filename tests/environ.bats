#!/usr/bin/env bats
# The PEP 3333 environ built from the CGI meta-variables (spec section 2).
load helpers

@test "request variables reach the app as their raw bytes in latin-1" {
	run --separate-stderr cgi_run PATH_INFO=$'/caf\xc3\xa9/\xff' \
	    QUERY_STRING=$'q=\xe9' HTTP_X_NAME=$'\xc3\xa9' \
	    REQUEST_URI=$'/app.py/\xff' REDIRECT_URL=$'/\xc3\xa9' \
	    SSL_CLIENT_S_DN=$'\xe9' -- "$APPS/environ.py"
	assert_success
	assert_line "PATH_INFO='/cafÃ©/ÿ'"
	assert_line "QUERY_STRING='q=é'"
	assert_line "HTTP_X_NAME='Ã©'"
	assert_line "REQUEST_URI='/app.py/ÿ'"
	assert_line "REDIRECT_URL='/Ã©'"
	assert_line "SSL_CLIENT_S_DN='é'"
}

@test "other variables are decoded as Python decodes os.environ" {
	run --separate-stderr cgi_run SERVER_NAME=$'h\xc3\xa9' \
	    DOCUMENT_ROOT=$'/srv/\xff' -- "$APPS/environ.py"
	assert_success
	assert_line "SERVER_NAME='hé'"
	assert_line "DOCUMENT_ROOT='/srv/\\udcff'"
}

@test "every process variable is in environ; nothing is added under a server" {
	run --separate-stderr cgi_run $(server_vars "$APPS/environ.py") \
	    MY_SETTING=on -- "$APPS/environ.py"
	assert_success
	assert_line "MY_SETTING='on'"
	refute_line --partial 'HTTP_HOST'
	refute_line --partial 'CONTENT_LENGTH'
	refute_line --partial 'HTTP_CONTENT_LENGTH'
	refute_line --partial 'LC_CTYPE'
	refute_line --partial 'PATH_INFO'
}

@test "the wsgi.* keys (spec 2.2)" {
	run --separate-stderr cgi_run -- "$APPS/environ.py"
	assert_success
	assert_line "wsgi.version=(1, 0)"
	assert_line "wsgi.url_scheme='http'"
	assert_line "wsgi.input='Input'"
	assert_line "wsgi.errors='stderr'"
	assert_line "wsgi.multithread=False"
	assert_line "wsgi.multiprocess=True"
	assert_line "wsgi.run_once=True"
	assert_line "wsgi.file_wrapper='callable'"
	assert_line "wsgi.input_terminated=True"
}

@test "url_scheme is https for HTTPS on/yes/1 in any case, or REQUEST_SCHEME" {
	for v in HTTPS=on HTTPS=ON HTTPS=yes HTTPS=1 REQUEST_SCHEME=https; do
		run --separate-stderr cgi_run "$v" -- "$APPS/environ.py"
		assert_line "wsgi.url_scheme='https'"
		assert_line "SERVER_PORT='443'"
	done
	run --separate-stderr cgi_run HTTPS=off -- "$APPS/environ.py"
	assert_line "wsgi.url_scheme='http'"
}

@test "from a shell, missing keys get wsgiref's testing defaults" {
	run --separate-stderr cgi_run -- "$APPS/environ.py"
	assert_success
	assert_line "REQUEST_METHOD='GET'"
	assert_line "SCRIPT_NAME=''"
	assert_line "PATH_INFO='/'"
	assert_line "QUERY_STRING=''"
	assert_line "SERVER_NAME='localhost'"
	assert_line "SERVER_PORT='80'"
	assert_line "SERVER_PROTOCOL='HTTP/1.0'"
	assert_line "HTTP_HOST='localhost'"
}

@test "from a shell, what is set is never overridden" {
	run --separate-stderr cgi_run REQUEST_METHOD=POST PATH_INFO=/x \
	    SERVER_NAME=example.org -- "$APPS/environ.py"
	assert_success
	assert_line "REQUEST_METHOD='POST'"
	assert_line "PATH_INFO='/x'"
	refute_line --partial 'SCRIPT_NAME'
	assert_line "HTTP_HOST='example.org'"
}

@test "under a server, a missing REQUEST_METHOD is a 500 without the app" {
	run --separate-stderr cgi_raw GATEWAY_INTERFACE=CGI/1.1 \
	    SERVER_PROTOCOL=HTTP/1.1 "SCRIPT_FILENAME=$APPS/environ.py" -- \
	    "$APPS/environ.py"
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: - /: bad CGI environment: REQUEST_METHOD is missing or empty"
	run raw_output
	assert_output 'Status: 500 Internal Server Error\r
Content-Type: text/plain\r
Content-Length: 59\r
\r
A server error occurred.  Please contact the administrator.'
}

@test "under a server, an unparsable SERVER_PROTOCOL is a 500; INCLUDED is legal" {
	run --separate-stderr cgi_run GATEWAY_INTERFACE=CGI/1.1 \
	    REQUEST_METHOD=GET SERVER_PROTOCOL=SPDY \
	    "SCRIPT_FILENAME=$APPS/environ.py" -- "$APPS/environ.py"
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: GET /: bad CGI environment: SERVER_PROTOCOL is not HTTP/x.y or INCLUDED"
	run --separate-stderr cgi_run GATEWAY_INTERFACE=CGI/1.1 \
	    REQUEST_METHOD=GET SERVER_PROTOCOL=INCLUDED \
	    "SCRIPT_FILENAME=$APPS/environ.py" -- "$APPS/environ.py"
	assert_success
	assert_line "SERVER_PROTOCOL='INCLUDED'"
}

@test "a malformed CONTENT_LENGTH is a 400, stdin unread, app not called" {
	printf 'body' >"$BATS_TEST_TMPDIR/body"
	for v in abc -1 +5 ' 5' 5_000 18446744073709551616; do
		STDIN=$BATS_TEST_TMPDIR/body run --separate-stderr cgi_raw \
		    "CONTENT_LENGTH=$v" -- "$APPS/environ.py"
		assert_failure 1
		assert_equal "$stderr" "wsgi-cgi: GET /: bad CGI environment: CONTENT_LENGTH is not a decimal number of bytes"
		run raw_output
		assert_output 'Status: 400 Bad Request\r
Content-Type: text/plain\r
Content-Length: 11\r
\r
Bad Request'
	done
}

@test "the environment a server gives is what the app sees, byte for byte" {
	run --separate-stderr cgi_run $(server_vars "$APPS/environ.py") \
	    HTTP_COOKIE='a=b; c=d' CONTENT_TYPE='text/plain; charset=x' -- \
	    "$APPS/environ.py"
	assert_success
	assert_line "HTTP_COOKIE='a=b; c=d'"
	assert_line "CONTENT_TYPE='text/plain; charset=x'"
	assert_line "GATEWAY_INTERFACE='CGI/1.1'"
	assert_line "SCRIPT_NAME='/app.py'"
}
