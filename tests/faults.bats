#!/usr/bin/env bats
# Hostile and broken inputs and peers: huge environments, undecodable
# bytes, endless applications, a 2 GB upload (the rest of the faults are in
# process.bats, errors.bats and input.bats).
load helpers

@test "10,000 environment variables and the largest value execve allows" {
	# Linux refuses any one variable over 128 KiB (MAX_ARG_STRLEN), so a
	# server cannot pass a 1 MB header; the largest possible one goes in.
	run --separate-stderr "$PYTHON3" -c '
import os, subprocess, sys
env = {"VAR_%05d" % i: "value %d" % i for i in range(10000)}
env["HTTP_X_BIG"] = "x" * (128 * 1024 - len("HTTP_X_BIG=") - 1)
env["PATH_INFO"] = "/read"
out = subprocess.run([sys.argv[1], sys.argv[2]], env=env,
                     stdin=subprocess.DEVNULL, capture_output=True)
open(sys.argv[3], "wb").write(out.stdout)
sys.exit(out.returncode)' "$WSGI_CGI" "$APPS/environ.py" "$BATS_TEST_TMPDIR/out"
	assert_success
	run grep -c "^VAR_[0-9]*='value [0-9]*'$" "$BATS_TEST_TMPDIR/out"
	assert_output 10000
	run awk '/^HTTP_X_BIG=/ { print length($0) }' "$BATS_TEST_TMPDIR/out"
	assert_output $((131060 + 13))
}

@test "non-UTF-8 bytes in every request variable and in names" {
	local vars=() name
	for name in SCRIPT_NAME PATH_INFO QUERY_STRING AUTH_TYPE CONTENT_TYPE \
	    REMOTE_USER REMOTE_IDENT REQUEST_URI HTTP_COOKIE SSL_CLIENT_S_DN \
	    REDIRECT_URL SERVER_NAME DOCUMENT_ROOT; do
		vars+=("$name=$(printf '\xff\xfe\xc3\x28\x80')")
	done
	vars+=("$(printf 'HTTP_X_\xff')=$(printf '\xfe')")
	run --separate-stderr cgi_run "${vars[@]}" -- "$APPS/environ.py"
	assert_success
	assert_line "PATH_INFO='ÿþÃ(\\x80'"
	assert_line "HTTP_COOKIE='ÿþÃ(\\x80'"
	assert_line "SERVER_NAME='\\udcff\\udcfe\\udcc3(\\udc80'"
	# The shell default HTTP_HOST is SERVER_NAME's bytes, as request data.
	assert_line "HTTP_HOST='ÿþÃ(\\x80'"
	assert_line "HTTP_X_\\udcff='þ'"
	run --separate-stderr cgi_run REQUEST_METHOD=$'G\xffT' -- \
	    "$APPS/environ.py"
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: G�T /: bad CGI environment: REQUEST_METHOD is not an HTTP method token"
}

# endless PATH: the app never returns; the server's timeout sends SIGTERM
# once the first bytes are out (or after a while, when none come).
endless() {
	timeout 30 bash -c '
	    env -i PATH_INFO="$2" "$0" "$1" >"$3/out" 2>"$3/err" &
	    pid=$!
	    for i in $(seq 50); do
		[ -s "$3/out" ] && break
		sleep 0.1
	    done
	    kill -TERM $pid
	    wait $pid' "$WSGI_CGI" "$APPS/response.py" "$1" "$BATS_TEST_TMPDIR"
}

@test "an app that never returns, killed after half its body: cut short, exit 1" {
	run endless /hang
	assert_failure 1
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output "wsgi-cgi: $APPS/response.py: GET /hang: terminated by SIGTERM; response cut short"
	# It declared 8 bytes and sent 4: no client takes it for complete.
	run raw_output
	assert_output 'Status: 200 OK\r
Content-Length: 8\r
\r
half'
}

@test "an app that never returns before its headers: a 500 on SIGTERM" {
	run endless /hang-before
	assert_failure 1
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output "wsgi-cgi: $APPS/response.py: GET /hang-before: terminated by SIGTERM"
	run raw_output
	assert_line --index 0 'Status: 500 Internal Server Error\r'
}

@test "a 2 GB upload streams through with flat memory" {
	local size=$((2 * 1024 * 1024 * 1024)) limit=100000
	# ASan holds freed memory in a 256 MB quarantine by design.
	case $WSGI_CGI in *-asan) limit=400000 ;; esac
	run --separate-stderr bash -c 'head -c "$2" /dev/zero |
	    env -i CONTENT_LENGTH="$2" PATH_INFO=/count \
	    /usr/bin/time -f "peak %M KiB" -o "$3/rss" "$0" "$1"' \
	    "$WSGI_CGI" "$APPS/input.py" "$size" "$BATS_TEST_TMPDIR"
	assert_success
	assert_line "$size"
	peak=$(sed -n 's/^peak \([0-9]*\) KiB$/\1/p' "$BATS_TEST_TMPDIR/rss")
	[ "$peak" -lt "$limit" ] || fail "peak RSS $peak KiB"
}
