#!/usr/bin/env bats
# Loading the script: module name, file names, sys.path, the bytecode
# cache, the interpreter's configuration (spec section 7).
load helpers

setup() {
	TAG=$("$PYTHON3" -c 'import sys; print(sys.implementation.cache_tag)')
}

@test "the script is a module that is not __main__, with __file__" {
	run --separate-stderr cgi_run -- "$APPS/environ.py"
	assert_success
	assert_line "__name__='_wsgi_cgi_script'"
	assert_line "__file__='$APPS/environ.py'"
}

@test "a __main__-guarded CGIHandler script runs under python3 and wsgi-cgi, once" {
	run --separate-stderr env -i REQUEST_METHOD=GET SERVER_NAME=x \
	    SERVER_PORT=80 SERVER_PROTOCOL=HTTP/1.0 "$PYTHON3" "$APPS/guarded.py"
	assert_success
	assert_line 'name=__main__'
	run --separate-stderr cgi_raw -- "$APPS/guarded.py"
	assert_success
	run grep -c '^Status:' "$BATS_TEST_TMPDIR/out"
	assert_output 1
	run cat "$BATS_TEST_TMPDIR/out"
	assert_line 'name=_wsgi_cgi_script'
}

@test "a classic .cgi script with an unguarded CGIHandler().run(app) is served" {
	run --separate-stderr cgi_raw -- "$APPS/classic.cgi"
	assert_success
	assert_equal "$stderr" ""
	run raw_output
	assert_output 'Status: 200 OK\r
Content-Type: text/plain\r
Content-Length: 8\r
\r
classic'
}

@test "any file name works: .py, .wsgi, .cgi, none" {
	for name in app.py app.wsgi app.cgi app; do
		cp "$APPS/hello.py" "$BATS_TEST_TMPDIR/$name"
		run --separate-stderr cgi_run -- "$BATS_TEST_TMPDIR/$name"
		assert_success
		assert_line 'Hello World!'
	done
}

@test "the script's real directory is first on sys.path; siblings import" {
	ln -s "$APPS/environ.py" "$BATS_TEST_TMPDIR/link.py"
	run --separate-stderr cgi_run -- "$BATS_TEST_TMPDIR/link.py"
	assert_success
	assert_line "sys.path[0]='$APPS'"
	assert_line "__file__='$BATS_TEST_TMPDIR/link.py'"
	run --separate-stderr cgi_run -- "$APPS/sibling.py"
	assert_success
	assert_line 'from the sibling module'
}

@test "the bytecode is cached in __pycache__ and used while mtime and size hold" {
	app=$(scratch_app hello.py)
	run --separate-stderr cgi_run -- "$app"
	assert_success
	pyc=$BATS_TEST_TMPDIR/__pycache__/hello.$TAG.pyc
	[ -f "$pyc" ]
	# Same size, same mtime: importlib's rule says the cache is current,
	# so the old text is still served; that proves the cache is read.
	cp -p "$app" "$BATS_TEST_TMPDIR/stamp"
	sed -i 's/Hello World!/Jello World!/' "$app"
	touch -r "$BATS_TEST_TMPDIR/stamp" "$app"
	run --separate-stderr cgi_run -- "$app"
	assert_line 'Hello World!'
	# An edit that changes the size invalidates it.
	sed -i 's/Jello World!/Hello, edited!/' "$app"
	touch -r "$BATS_TEST_TMPDIR/stamp" "$app"
	run --separate-stderr cgi_run -- "$app"
	assert_line 'Hello, edited!'
	# And so does a new mtime.
	sed -i 's/Hello, edited!/Hello, EDITED!/' "$app"
	touch -d '2030-01-01' "$app"
	run --separate-stderr cgi_run -- "$app"
	assert_line 'Hello, EDITED!'
}

@test "a cache file cut short while it is read is a cache miss, not a crash" {
	# A script whose cache spans many pages, served once to cache it.
	app=$BATS_TEST_TMPDIR/big.py
	for i in $(seq 400); do
		printf 'def f%d(x):\n    return [x, %d, "%d"]\n\n' "$i" "$i" "$i"
	done >"$app"
	cat "$APPS/hello.py" >>"$app"
	run --separate-stderr cgi_run -- "$app"
	assert_success
	pyc=$BATS_TEST_TMPDIR/__pycache__/big.$TAG.pyc
	size=$(stat -c %s "$pyc")
	[ "$size" -gt 16384 ]
	# gdb stops wsgi-cgi once the file is mapped, just before it is read,
	# and cuts the file to one page: reading the next one raises SIGBUS.
	run env -i HOME="$BATS_TEST_TMPDIR" ASAN_OPTIONS=detect_leaks=0 \
	    gdb -q -batch -nx -ex 'handle SIGBUS nostop print pass' \
	    -ex 'break cache_read' \
	    -ex "run $app >$BATS_TEST_TMPDIR/out 2>$BATS_TEST_TMPDIR/err" \
	    -ex delete -ex 'break PyMarshal_ReadObjectFromString' -ex continue \
	    -ex "shell truncate -s 4096 $pyc" -ex delete -ex continue \
	    --args "$WSGI_CGI"
	assert_line --partial 'received signal SIGBUS'
	assert_line --partial 'exited normally'
	run cat "$BATS_TEST_TMPDIR/out"
	assert_line 'Hello World!'
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output ''
	# The script was compiled again, and the cache written whole.
	run stat -c %s "$pyc"
	assert_output "$size"
}

@test "the cache file of app.wsgi keeps its extension; python3 can import ours" {
	app=$(scratch_app hello.py app.wsgi)
	run --separate-stderr cgi_run -- "$app"
	assert_success
	[ -f "$BATS_TEST_TMPDIR/__pycache__/app.wsgi.$TAG.pyc" ]
	app=$(scratch_app hello.py plain.py)
	run --separate-stderr cgi_run -- "$app"
	run "$PYTHON3" -c 'import importlib.util, sys
sys.path.insert(0, sys.argv[1])
import plain
print(plain.__cached__)
print(importlib.util.source_hash)' "$BATS_TEST_TMPDIR"
	assert_success
	assert_line --index 0 "$BATS_TEST_TMPDIR/__pycache__/plain.$TAG.pyc"
}

@test "where __pycache__ cannot be written, a private per-user directory is used" {
	app=$(scratch_app hello.py)
	touch "$BATS_TEST_TMPDIR/__pycache__"	# a file: no directory here
	mkdir "$BATS_TEST_TMPDIR/tmp"
	run --separate-stderr cgi_run "TMPDIR=$BATS_TEST_TMPDIR/tmp" -- "$app"
	assert_success
	assert_line 'Hello World!'
	dir=$BATS_TEST_TMPDIR/tmp/wsgi-cgi-$(id -u)
	run stat -c %a "$dir"
	assert_output 700
	run ls "$dir"
	assert_output "$(sed 's|/|%|g' <<<"$BATS_TEST_TMPDIR")%hello.$TAG.pyc"
	# A directory that is not private is not trusted.
	chmod 755 "$dir"
	rm "$dir"/*
	run --separate-stderr cgi_run "TMPDIR=$BATS_TEST_TMPDIR/tmp" -- "$app"
	assert_success
	run ls "$dir"
	assert_output ""
}

@test "sys.executable is the real Python interpreter" {
	run --separate-stderr cgi_run -- "$APPS/environ.py"
	exe=$(sed -n "s/^sys.executable='\(.*\)'$/\1/p" <<<"$output")
	run "$exe" -c 'import sys; print(sys.implementation.name)'
	assert_success
	assert_output cpython
}

@test "Debian's dist-packages import: a Flask app answers GET and POST" {
	run --separate-stderr cgi_run PATH_INFO=/hello QUERY_STRING=name=bob \
	    -- --callable app "$APPS/frameworks/flask_app.py"
	assert_success
	assert_line 'Hello, bob!'
	printf 'field=hello' >"$BATS_TEST_TMPDIR/body"
	STDIN=$BATS_TEST_TMPDIR/body run --separate-stderr cgi_run \
	    REQUEST_METHOD=POST PATH_INFO=/form CONTENT_LENGTH=11 \
	    CONTENT_TYPE=application/x-www-form-urlencoded -- \
	    --callable app "$APPS/frameworks/flask_app.py"
	assert_success
	assert_line 'field=hello'
}
