#!/usr/bin/env bats
# The same apps, environment and body under python3 + wsgiref's CGIHandler
# and under wsgi-cgi: the responses are byte for byte the same, except the
# differences the README lists as deliberate ([D1] ...), each pinned here.
load helpers

# run_both APP [NAME=value...]: both launchers, the body from $STDIN;
# stdout in $BATS_TEST_TMPDIR/{ref,ours}, exit statuses in REF_STATUS and
# OUR_STATUS.
run_both() {
	local app=$APPS/$1
	shift
	local vars=(GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1
	    SERVER_NAME=localhost SERVER_PORT=80 SCRIPT_NAME=/app
	    QUERY_STRING= REQUEST_METHOD=GET "SCRIPT_FILENAME=$app"
	    "CLOSE_LOG=$BATS_TEST_TMPDIR/close.log" "$@")
	REF_STATUS=0
	OUR_STATUS=0
	# The script as a module of its own (not __main__), as wsgi-cgi does.
	env -i "${vars[@]}" "$PYTHON3" -c 'import importlib.util, sys
from wsgiref.handlers import CGIHandler
spec = importlib.util.spec_from_file_location("differential", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules["differential"] = module
spec.loader.exec_module(module)
CGIHandler().run(module.application)' "$app" <"${STDIN:-/dev/null}" \
	    >"$BATS_TEST_TMPDIR/ref" 2>/dev/null || REF_STATUS=$?
	env -i "${vars[@]}" "$WSGI_CGI" "$app" <"${STDIN:-/dev/null}" \
	    >"$BATS_TEST_TMPDIR/ours" 2>/dev/null || OUR_STATUS=$?
}

# same_output CASE: identical stdout; CASE names it in a failure.
same_output() {
	run cmp "$BATS_TEST_TMPDIR/ref" "$BATS_TEST_TMPDIR/ours"
	if [ "$status" -ne 0 ]; then
		echo "# $1: $(diff <(cat -v "$BATS_TEST_TMPDIR/ref") \
		    <(cat -v "$BATS_TEST_TMPDIR/ours") | head -20)"
	fi
	assert_success
}

# differs ID: the outputs differ, and the README says why under [ID].
differs() {
	run cmp -s "$BATS_TEST_TMPDIR/ref" "$BATS_TEST_TMPDIR/ours"
	assert_failure
	grep -q "^\[$1\] " "$TESTS/../README"
}

@test "differential: the response rules wsgiref gets right are identical" {
	for path in /single /two /generator /write /empty /exc-info-replace \
	    /exc-info-after-sent /body-before-start /no-start \
	    /start-in-generator /str-chunk /bytes-itself /none \
	    /file-bytesio /notfound /redirect /second-call-type /exit /errors \
	    /close /declared-short /after-headers; do
		run_both response.py "PATH_INFO=$path"
		same_output "$path"
	done
	run_both response.py REQUEST_METHOD=HEAD PATH_INFO=/head
	same_output HEAD
	run_both hello.py
	same_output hello.py
	run_both raise.py
	same_output raise.py
}

@test "differential: every framework app, every route, is identical" {
	printf 'field=caf%%C3%%A9' >"$BATS_TEST_TMPDIR/form"
	for app in flask django bottle falcon werkzeug; do
		for path in /hello /json /error /no-such-route; do
			run_both "frameworks/${app}_app.py" "PATH_INFO=$path" \
			    QUERY_STRING=name=Ada
			same_output "$app $path"
		done
		STDIN=$BATS_TEST_TMPDIR/form run_both \
		    "frameworks/${app}_app.py" REQUEST_METHOD=POST \
		    PATH_INFO=/form CONTENT_LENGTH=15 \
		    CONTENT_TYPE=application/x-www-form-urlencoded
		same_output "$app POST"
	done
}

@test "differential: bodies read to the exact length are identical" {
	head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/body"
	STDIN=$BATS_TEST_TMPDIR/body run_both input.py PATH_INFO=/sha256 \
	    REQUEST_METHOD=POST CONTENT_LENGTH=100000
	same_output sha256
}

@test "[D1] wsgi.input stops at CONTENT_LENGTH" {
	printf 'hello world' >"$BATS_TEST_TMPDIR/body"
	STDIN=$BATS_TEST_TMPDIR/body run_both input.py PATH_INFO=/read \
	    REQUEST_METHOD=POST CONTENT_LENGTH=5
	differs D1
	run tail -n 1 "$BATS_TEST_TMPDIR/ours"
	assert_output "[b'hello']"
}

@test "[D2] status and headers are validated when start_response is called" {
	for path in /status-short /status-crlf /header-crlf /hop-by-hop \
	    /status-header; do
		run_both response.py "PATH_INFO=$path"
		differs D2
	done
	run_both response.py PATH_INFO=/header-crlf
	run grep -c $'^X-Injected: 1\r$' "$BATS_TEST_TMPDIR/ref"
	assert_output 1
	run grep -c $'^X-Injected: 1\r$' "$BATS_TEST_TMPDIR/ours"
	assert_output 0
}

@test "[D3] headers wait for the first non-empty block" {
	run_both response.py PATH_INFO=/withheld
	differs D3
}

@test "[D4] no Content-Length on 204 and 304" {
	for path in /204 /304; do
		run_both response.py "PATH_INFO=$path"
		differs D4
		run grep -c '^Content-Length' "$BATS_TEST_TMPDIR/ours"
		assert_output 0
	done
}

@test "[D5] never more than the declared Content-Length" {
	run_both response.py PATH_INFO=/declared-long
	differs D5
}

@test "[D6] bytearray and memoryview blocks" {
	run_both response.py PATH_INFO=/byteslike
	differs D6
}

@test "[D7] file_wrapper of a regular file has a Content-Length" {
	run_both response.py PATH_INFO=/file
	differs D7
}

@test "[D8] print() never reaches the response" {
	run_both response.py PATH_INFO=/print
	differs D8
	run head -n 1 "$BATS_TEST_TMPDIR/ref"
	assert_output 'fd 1 noise'
}

@test "[D9] nph- scripts write a complete HTTP response" {
	run_both nph-hello.py
	differs D9
}

@test "[D10] a response cut short exits 1" {
	for path in /after-headers /declared-short; do
		run_both response.py "PATH_INFO=$path"
		same_output "$path"
		assert_equal "$REF_STATUS $OUR_STATUS" "0 1"
	done
	grep -q '^\[D10\] ' "$TESTS/../README"
}

@test "[D11] the environ: REQUEST_URI as latin-1, HTTPS=ON, no LC_CTYPE" {
	run_both environ.py REQUEST_URI=$'/\xff' HTTPS=ON
	differs D11
	run grep -a -e REQUEST_URI -e url_scheme -e LC_CTYPE "$BATS_TEST_TMPDIR/ours"
	assert_output "REQUEST_URI='/ÿ'
wsgi.url_scheme='https'"
}

@test "[D12] nothing diagnostic on stdout with stderr closed" {
	run bash -c 'env -i GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET \
	    SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=x SERVER_PORT=80 \
	    "$0" -c "import runpy, sys
from wsgiref.handlers import CGIHandler
CGIHandler().run(runpy.run_path(sys.argv[1])[\"application\"])" "$1" 2>&-' \
	    "$PYTHON3" "$APPS/raise.py"
	assert_output --partial Traceback
	run bash -c 'env -i "$0" "$1" 2>&-' "$WSGI_CGI" "$APPS/raise.py"
	refute_output --partial Traceback
	grep -q '^\[D12\] ' "$TESTS/../README"
}
