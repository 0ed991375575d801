#!/usr/bin/env bats
# Behind Debian's Apache httpd with mod_cgid, where stdin and stdout are one
# socket and a query string without '=' becomes argv words (RFC 3875 4.4).
load helpers

setup_file() {
	# Apache runs CGI as www-data: a world-readable directory of our own.
	export DIR
	DIR=$(mktemp -d /tmp/wsgi-cgi-apache.XXXXXX)
	mkdir -p "$DIR/www"
	apache_start "$DIR"
	shebang_copy hello.py hello.py
	shebang_copy environ.py env.py
	shebang_copy input.py input.py
	shebang_copy raise.py raise.py
	shebang_copy lifecycle.py lifecycle.py
	shebang_copy no_callable.py app.py "--callable app"
}

teardown_file() {
	apache_stop "$DIR"
	rm -rf "$DIR"
}

@test "apache: a #! script answers GET" {
	run curl -sS -i "$APACHE_URL/hello.py"
	assert_success
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	assert_line 'Hello World!'
}

@test "apache: under mod_cgid the app's fd 0 is /dev/null, not the response socket" {
	run curl -sS "$APACHE_URL/lifecycle.py/stdin-kind"
	assert_output 'stdin is /dev/null'
	# An app (or a child) writing a redirect to fd 0 is not answered by it.
	run curl -sS -i "$APACHE_URL/lifecycle.py/fd0-redirect"
	assert_line --index 0 $'HTTP/1.1 200 OK\r'
	refute_output --partial evil.example
	assert_line done
}

@test "apache: the Action shape with a path after the script (/act/app.wsgi/extra)" {
	mkdir -p "$DIR/www/act"
	cp "$APPS/environ.py" "$DIR/www/act/app.wsgi"
	chmod 755 "$DIR/www/act"
	run curl -sS "$APACHE_URL/act/app.wsgi/extra/more?q=1"
	assert_success
	assert_line "SCRIPT_NAME='/act/app.wsgi'"
	assert_line "PATH_INFO='/extra/more'"
	assert_line "SCRIPT_FILENAME='$DIR/www/act/app.wsgi'"
	assert_line "QUERY_STRING='q=1'"
	assert_line "__file__='$DIR/www/act/app.wsgi'"
	run curl -sS "$APACHE_URL/act/app.wsgi"
	assert_success
	assert_line "SCRIPT_NAME='/act/app.wsgi'"
	# The copy called directly, a file named after it: never run.
	run curl -sS -i "$APACHE_URL/cgi-bin/wsgi-cgi/act/app.wsgi"
	assert_line --index 0 $'HTTP/1.1 500 Internal Server Error\r'
}

@test "apache: a query without '=' becomes argv words, which are ignored" {
	run curl -sS "$APACHE_URL/env.py/x?--debug+-h+%2Ftmp%2Fevil.py"
	assert_success
	assert_line "QUERY_STRING='--debug+-h+%2Ftmp%2Fevil.py'"
	assert_line "sys.argv=['$DIR/www/env.py']"
	assert_line "PATH_INFO='/x'"
	run curl -sS -i "$APACHE_URL/raise.py?--debug"
	assert_line --index 0 $'HTTP/1.1 500 Internal Server Error\r'
	refute_output --partial Traceback
}

@test "apache: #! options work, and query words cannot add any" {
	run curl -sS "$APACHE_URL/app.py?--callable+application"
	assert_success
	assert_output middleware
}

@test "apache: POST bodies through the shared socket (sha256)" {
	for size in 0 100000 3000000; do
		head -c "$size" /dev/urandom >"$BATS_TEST_TMPDIR/body"
		expected="$size $(sha256sum <"$BATS_TEST_TMPDIR/body" | cut -d' ' -f1)"
		run curl -sS --data-binary @"$BATS_TEST_TMPDIR/body" \
		    "$APACHE_URL/input.py/sha256"
		assert_success
		assert_output "$expected"
	done
}

@test "apache: an app error is a 500; the traceback is in the error log" {
	run curl -sS -i "$APACHE_URL/raise.py"
	assert_line --index 0 $'HTTP/1.1 500 Internal Server Error\r'
	run grep -c 'ZeroDivisionError: division by zero' "$DIR/error.log"
	refute_output 0
	run grep 'wsgi-cgi: .*raise.py: application error' "$DIR/error.log"
	assert_success
}
