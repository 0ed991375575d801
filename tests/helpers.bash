# Shared by every bats file: the binary under test, the fixture apps, and
# cgi_run, which runs wsgi-cgi with only the variables a test names.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

TESTS=$(cd "$BATS_TEST_DIRNAME" && pwd)
APPS=$TESTS/apps
WSGI_CGI=${WSGI_CGI:-$TESTS/../wsgi-cgi}
WSGI_CGI=$(cd "$(dirname "$WSGI_CGI")" && pwd)/$(basename "$WSGI_CGI")
# The system Python, whatever python3 is first on PATH.
PYTHON3=${PYTHON3:-/usr/bin/python3}

# wsgi_cgi ARGS...: the binary, as a user runs it, with the caller's env.
wsgi_cgi() {
	"$WSGI_CGI" "$@"
}

# cgi_run [NAME=value...] -- ARGS...: wsgi-cgi under env -i, so that the
# host environment never leaks in; stdin is $STDIN or /dev/null.
cgi_run() {
	local vars=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		vars+=("$1")
		shift
	done
	shift
	env -i "${vars[@]}" "$WSGI_CGI" "$@" <"${STDIN:-/dev/null}"
}

# cgi_raw [NAME=value...] -- ARGS...: as cgi_run, but the response bytes
# go to $BATS_TEST_TMPDIR/out, for byte-exact checks.
cgi_raw() {
	cgi_run "$@" >"$BATS_TEST_TMPDIR/out"
}

# The variables a server such as lighttpd sets for GET SCRIPT.
server_vars() {
	echo GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET \
	    SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=localhost SERVER_PORT=80 \
	    SCRIPT_NAME=/app.py QUERY_STRING= "SCRIPT_FILENAME=$1"
}

# A copy of a fixture app in the test's scratch directory.
scratch_app() {
	cp "$APPS/$1" "$BATS_TEST_TMPDIR/${2:-$1}"
	echo "$BATS_TEST_TMPDIR/${2:-$1}"
}

# Exact response bytes, with CR shown as \r.
raw_output() {
	sed 's/\r/\\r/g' "$BATS_TEST_TMPDIR/out"
}

# assert_stderr_line INDEX [--partial] TEXT: line INDEX (from 0) of $stderr
# equals TEXT, or contains it with --partial.
assert_stderr_line() {
	local index=$1 partial=false line
	shift
	if [ "$1" = --partial ]; then
		partial=true
		shift
	fi
	line=$(sed -n "$((index + 1))p" <<<"$stderr")
	if $partial && [[ "$line" == *"$1"* ]]; then
		return 0
	elif ! $partial && [ "$line" = "$1" ]; then
		return 0
	fi
	batslib_print_kv_single_or_multi 8 index "$index" expected "$1" \
	    line "$line" stderr "$stderr" |
	    batslib_decorate 'stderr line differs' | fail
}
