#!/usr/bin/env bats
# wsgi.input: bounded by CONTENT_LENGTH, never blocking past it (spec 3).
load helpers

body() {
	printf "$1" >"$BATS_TEST_TMPDIR/body"
	echo "$BATS_TEST_TMPDIR/body"
}

@test "read() stops at CONTENT_LENGTH even when stdin holds more" {
	STDIN=$(body 'hello world') run --separate-stderr cgi_run \
	    CONTENT_LENGTH=5 PATH_INFO=/read -- "$APPS/input.py"
	assert_success
	assert_line "[b'hello']"
}

@test "read() returns at CONTENT_LENGTH while stdin stays open" {
	# The writer keeps the pipe open; a read past the length would block
	# until the timeout kills the launcher.
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	(printf hello; exec sleep 30) >"$BATS_TEST_TMPDIR/fifo" &
	holder=$!
	run --separate-stderr timeout 20 env -i CONTENT_LENGTH=5 \
	    PATH_INFO=/read "$WSGI_CGI" "$APPS/input.py" \
	    <"$BATS_TEST_TMPDIR/fifo"
	kill "$holder"
	assert_success
	assert_line "[b'hello']"
}

@test "read(None), read(n) until b'', readline(size), readlines, iteration" {
	STDIN=$(body 'abcdefgh') run --separate-stderr cgi_run \
	    CONTENT_LENGTH=8 PATH_INFO=/read-none -- "$APPS/input.py"
	assert_line "[b'abcdefgh']"
	STDIN=$(body 'abcdefgh') run --separate-stderr cgi_run \
	    CONTENT_LENGTH=7 PATH_INFO=/read3 -- "$APPS/input.py"
	assert_line "[b'abc', b'def', b'g', b'']"
	STDIN=$(body 'one\ntwo2222\nthree\nfour') run --separate-stderr \
	    cgi_run CONTENT_LENGTH=18 PATH_INFO=/readline -- "$APPS/input.py"
	assert_line "[b'one\\n', b'two2', b'222\\n']"
	STDIN=$(body 'one\ntwo\nthree') run --separate-stderr cgi_run \
	    CONTENT_LENGTH=13 PATH_INFO=/readlines -- "$APPS/input.py"
	assert_line "[b'one\\n', b'two\\n', b'three']"
	STDIN=$(body 'one\ntwo\nthree') run --separate-stderr cgi_run \
	    CONTENT_LENGTH=13 PATH_INFO=/readlines-hint -- "$APPS/input.py"
	assert_line "[b'one\\n']"
	STDIN=$(body 'one\ntwo\nthree\nmore') run --separate-stderr cgi_run \
	    CONTENT_LENGTH=10 PATH_INFO=/iter -- "$APPS/input.py"
	assert_line "[b'one\\n', b'two\\n', b'th']"
}

@test "without CONTENT_LENGTH the body is read to the end of stdin" {
	STDIN=$(body 'all of it') run --separate-stderr cgi_run \
	    PATH_INFO=/read -- "$APPS/input.py"
	assert_line "[b'all of it']"
}

@test "an empty CONTENT_LENGTH means no body: stdin is not read, even left open" {
	# RFC 3875 4.1.2.  A server that keeps stdin open would hang a read
	# to EOF: the pipe below is never closed while wsgi-cgi runs.
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	sleep 30 >"$BATS_TEST_TMPDIR/fifo" &
	holder=$!
	run --separate-stderr timeout 10 env -i CONTENT_LENGTH= \
	    PATH_INFO=/read "$WSGI_CGI" "$APPS/input.py" \
	    <"$BATS_TEST_TMPDIR/fifo"
	kill "$holder"
	assert_success
	assert_line "[b'']"
}

@test "a body shorter than CONTENT_LENGTH ends in a short read, not a hang" {
	STDIN=$(body 'short') run --separate-stderr cgi_run \
	    CONTENT_LENGTH=100 PATH_INFO=/read -- "$APPS/input.py"
	assert_success
	assert_line "[b'short']"
	STDIN=$(body 'short') run --separate-stderr cgi_run \
	    CONTENT_LENGTH=100 PATH_INFO=/read3 -- "$APPS/input.py"
	assert_line "[b'sho', b'rt', b'']"
}

@test "CONTENT_LENGTH=0 reads nothing" {
	STDIN=$(body 'ignored') run --separate-stderr cgi_run \
	    CONTENT_LENGTH=0 PATH_INFO=/read -- "$APPS/input.py"
	assert_line "[b'']"
}

@test "from a shell with stdin a terminal, the body is empty" {
	run --separate-stderr script -qec "env -i PATH_INFO=/read '$WSGI_CGI' '$APPS/input.py'" /dev/null
	assert_success
	assert_output --partial "[b'']"
}

@test "a 20 MB body streams through, checked by sha256" {
	head -c 20000000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	expected="20000000 $(sha256sum <"$BATS_TEST_TMPDIR/big" | cut -d' ' -f1)"
	STDIN=$BATS_TEST_TMPDIR/big run --separate-stderr cgi_run \
	    CONTENT_LENGTH=20000000 PATH_INFO=/sha256 -- "$APPS/input.py"
	assert_success
	assert_line "$expected"
	# No CONTENT_LENGTH, from a pipe: read to EOF.
	run --separate-stderr bash -c 'cat "$2" |
	    env -i PATH_INFO=/sha256 "$0" "$1"' "$WSGI_CGI" "$APPS/input.py" \
	    "$BATS_TEST_TMPDIR/big"
	assert_success
	assert_line "$expected"
}

@test "a huge CONTENT_LENGTH with a 5-byte body costs no memory up front (ulimit -v)" {
	# 200 MB of address space: a read() that allocated what
	# CONTENT_LENGTH promises would fail with MemoryError.  (ASan reserves
	# terabytes of address space: there the limit is left off.)
	limit='ulimit -v 200000 &&'
	[[ "$WSGI_CGI" != *-asan ]] || limit=
	in=$(body 'hello')
	for path in /read /read-none; do
		run --separate-stderr bash -c \
		    "$limit"' exec env -i CONTENT_LENGTH=300000000 \
		    PATH_INFO="$1" "$2" "$3" <"$4"' _ "$path" "$WSGI_CGI" \
		    "$APPS/input.py" "$in"
		assert_success
		assert_line "[b'hello']"
	done
}
