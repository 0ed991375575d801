#!/usr/bin/env bats
# Load: 200 concurrent POST requests through lighttpd, each body checked by
# sha256 on the way back; afterwards no wsgi-cgi process and no zombie.
load helpers

setup_file() {
	export DIR=$BATS_FILE_TMPDIR
	mkdir -p "$DIR/www" "$DIR/bodies" "$DIR/answers"
	cp "$APPS/input.py" "$DIR/www/"
	lighttpd_start "$DIR" 'server.max-connections = 400'
}

teardown_file() {
	lighttpd_stop "$DIR"
}

@test "load: 200 concurrent POSTs through lighttpd, every body intact" {
	local i n=200 config=$BATS_TEST_TMPDIR/curl.conf
	: >"$config"
	for i in $(seq $n); do
		head -c $((i * 997 % 65536 + 1)) /dev/urandom >"$DIR/bodies/$i"
		# One group of options per request, "next" between them.
		[ "$i" -gt 1 ] && echo next >>"$config"
		printf 'url = "%s/input.py/sha256"\ndata-binary = "@%s"\noutput = "%s"\nheader = "Content-Type: application/octet-stream"\n' \
		    "$LIGHTTPD_URL" "$DIR/bodies/$i" "$DIR/answers/$i" >>"$config"
	done
	run timeout 120 curl -sS --parallel --parallel-immediate \
	    --parallel-max $n -K "$config"
	assert_success
	for i in $(seq $n); do
		expected="$(stat -c %s "$DIR/bodies/$i") $(sha256sum <"$DIR/bodies/$i" | cut -d' ' -f1)"
		[ "$(cat "$DIR/answers/$i")" = "$expected" ] ||
		    fail "request $i: $(head -c 200 "$DIR/answers/$i")"
	done
	# Every CGI process is gone and reaped.
	assert_gone "$DIR/www/input.py"
	run ps -o stat= --ppid "$(cat "$DIR/lighttpd.ppid")"
	refute_output --partial Z
}
