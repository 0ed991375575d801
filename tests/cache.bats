#!/usr/bin/env bats
# The bytecode cache (spec 7.3): where it lives, when it is trusted, and
# that an edit is served by the very next request whatever its timing.
load helpers

setup() {
	TAG=$("$PYTHON3" -c 'import sys; print(sys.implementation.cache_tag)')
}

# written_later PYC: dates the cache as though written 10 s after the source
# changed, which the racy rule asks for before it trusts a cache; a test
# need not sleep for it.
written_later() {
	touch -d "@$(($(date +%s) + 10))" "$1"
}

# plant PYC SCRIPT TEXT: the cache's header kept (it matches the source),
# its code replaced by a hello world that answers TEXT, so a response of
# TEXT proves the cache was what ran.
plant() {
	"$PYTHON3" - "$1" "$2" "$3" <<-'PY'
	import marshal, sys
	pyc, script, text = sys.argv[1:]
	src = ("def application(environ, start_response):\n"
	       "    start_response('200 OK', [])\n"
	       "    return [%r]\n" % text.encode())
	with open(pyc, 'rb') as f:
	    head = f.read(16)
	with open(pyc, 'wb') as f:
	    f.write(head + marshal.dumps(compile(src, script, 'exec')))
	PY
	written_later "$1"
}

@test "the bytecode is cached in __pycache__ and used while it is current" {
	app=$(scratch_app hello.py)
	run --separate-stderr cgi_run -- "$app"
	assert_success
	pyc=$BATS_TEST_TMPDIR/__pycache__/hello.$TAG.pyc
	[ -f "$pyc" ]
	run stat -c %a "$pyc"
	assert_output 644
	plant "$pyc" "$app" 'from the cache'
	run --separate-stderr cgi_run -- "$app"
	assert_success
	assert_line 'from the cache'
	# An edit that changes the size invalidates it.
	sed -i 's/Hello World!/Hello, edited!/' "$app"
	run --separate-stderr cgi_run -- "$app"
	assert_success
	assert_line 'Hello, edited!'
	# And so does a new mtime.
	plant "$pyc" "$app" 'from the cache'
	touch -d '2030-01-01' "$app"
	run --separate-stderr cgi_run -- "$app"
	assert_success
	assert_line 'Hello, edited!'
}

@test "an edit of the same size in the same second is served at once (sed -i s/AAA/BBB/)" {
	app=$(scratch_app hello.py)
	pyc=$BATS_TEST_TMPDIR/__pycache__/hello.$TAG.pyc
	# A cache written two seconds after the source changed is trusted:
	# the second request does not write it again.  The edits below need
	# the real clock (the racy rule compares it with the file's ctime).
	sleep 2.1
	run --separate-stderr cgi_run -- "$app"
	assert_success
	inode=$(stat -c %i "$pyc")
	run --separate-stderr cgi_run -- "$app"
	assert_success
	assert_line 'Hello World!'
	assert_equal "$(stat -c %i "$pyc")" "$inode"
	cp -p "$app" "$BATS_TEST_TMPDIR/stamp"
	for word in Jello Mello Cello; do
		# The size and the mtime are the old ones: only the racy rule
		# (the cache must postdate the source's last change) sees it.
		sed -i "s/[A-Z]ello World!/$word World!/" "$app"
		touch -r "$BATS_TEST_TMPDIR/stamp" "$app"
		run --separate-stderr cgi_run -- "$app"
		assert_success
		assert_line "$word World!"
		run --separate-stderr cgi_run -- "$app"
		assert_success
		assert_line "$word World!"
	done
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
	written_later "$pyc"
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

@test "app and app.py in one directory never share a cache file" {
	printf '%s\n' 'def application(e, s):' "    s('200 OK', [])" \
	    "    return [b'plain']" >"$BATS_TEST_TMPDIR/app"
	printf '%s\n' 'def application(e, s):' "    s('200 OK', [])" \
	    "    return [b'dotpy']" >"$BATS_TEST_TMPDIR/app.py"
	for round in 1 2; do
		run --separate-stderr cgi_run -- "$BATS_TEST_TMPDIR/app"
		assert_success
		assert_line plain
		run --separate-stderr cgi_run -- "$BATS_TEST_TMPDIR/app.py"
		assert_success
		assert_line dotpy
		written_later "$BATS_TEST_TMPDIR/__pycache__/app.$TAG.wsgi-cgi.pyc"
		written_later "$BATS_TEST_TMPDIR/__pycache__/app.$TAG.pyc"
	done
}

@test "the cache of app.wsgi has a name importlib never makes; python3 can import ours" {
	app=$(scratch_app hello.py app.wsgi)
	run --separate-stderr cgi_run -- "$app"
	assert_success
	[ -f "$BATS_TEST_TMPDIR/__pycache__/app.wsgi.$TAG.wsgi-cgi.pyc" ]
	app=$(scratch_app hello.py plain.py)
	run --separate-stderr cgi_run -- "$app"
	assert_success
	written_later "$BATS_TEST_TMPDIR/__pycache__/plain.$TAG.pyc"
	run "$PYTHON3" -c 'import sys
sys.path.insert(0, sys.argv[1])
import plain
print(plain.__cached__)' "$BATS_TEST_TMPDIR"
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
	assert_output "$(sed -e 's|%|%25|g' -e 's|/|%2F|g' <<<"$app").$TAG.pyc"
	# A directory that is not private is not trusted.
	chmod 755 "$dir"
	rm "$dir"/*
	run --separate-stderr cgi_run "TMPDIR=$BATS_TEST_TMPDIR/tmp" -- "$app"
	assert_success
	run ls "$dir"
	assert_output ""
}

@test "a%b.py and a/b.py never meet in the private directory" {
	mkdir "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/tmp"
	touch "$BATS_TEST_TMPDIR/__pycache__" "$BATS_TEST_TMPDIR/a/__pycache__"
	printf '%s\n' 'def application(e, s):' "    s('200 OK', [])" \
	    "    return [b'percent']" >"$BATS_TEST_TMPDIR/a%b.py"
	printf '%s\n' 'def application(e, s):' "    s('200 OK', [])" \
	    "    return [b'slash!!']" >"$BATS_TEST_TMPDIR/a/b.py"
	for round in 1 2; do
		run --separate-stderr cgi_run "TMPDIR=$BATS_TEST_TMPDIR/tmp" -- \
		    "$BATS_TEST_TMPDIR/a%b.py"
		assert_line percent
		run --separate-stderr cgi_run "TMPDIR=$BATS_TEST_TMPDIR/tmp" -- \
		    "$BATS_TEST_TMPDIR/a/b.py"
		assert_line 'slash!!'
		for f in "$BATS_TEST_TMPDIR/tmp/wsgi-cgi-$(id -u)"/*; do
			written_later "$f"
		done
	done
	run ls "$BATS_TEST_TMPDIR/tmp/wsgi-cgi-$(id -u)"
	assert_equal "${#lines[@]}" 2
}

@test "a __pycache__ that others can write is not trusted: a planted .pyc never runs" {
	app=$(scratch_app hello.py)
	run --separate-stderr cgi_run -- "$app"
	assert_success
	pyc=$BATS_TEST_TMPDIR/__pycache__/hello.$TAG.pyc
	plant "$pyc" "$app" PLANTED
	# Shared with a group, or with everyone (sticky or not).
	for mode in 775 777 1777; do
		chmod "$mode" "$BATS_TEST_TMPDIR/__pycache__"
		run --separate-stderr cgi_run "TMPDIR=$BATS_TEST_TMPDIR" -- "$app"
		assert_success
		assert_line 'Hello World!'
		refute_line PLANTED
	done
	# A cache file that others can write is not trusted either.
	chmod 755 "$BATS_TEST_TMPDIR/__pycache__"
	chmod 666 "$pyc"
	run --separate-stderr cgi_run "TMPDIR=$BATS_TEST_TMPDIR" -- "$app"
	assert_success
	refute_line PLANTED
}

@test "a .pyc or __pycache__ of another user is not trusted" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to give files to another user"
	app=$(scratch_app hello.py)
	chmod 755 "$BATS_TEST_TMPDIR"
	run --separate-stderr cgi_run -- "$app"
	assert_success
	pyc=$BATS_TEST_TMPDIR/__pycache__/hello.$TAG.pyc
	plant "$pyc" "$app" PLANTED
	chown nobody "$pyc"
	run --separate-stderr cgi_run "TMPDIR=$BATS_TEST_TMPDIR" -- "$app"
	assert_success
	assert_line 'Hello World!'
	plant "$pyc" "$app" PLANTED
	chown -R nobody "$BATS_TEST_TMPDIR/__pycache__"
	run --separate-stderr cgi_run "TMPDIR=$BATS_TEST_TMPDIR" -- "$app"
	assert_success
	assert_line 'Hello World!'
	refute_line PLANTED
}

@test "a symlink in place of the private directory is not followed" {
	app=$(scratch_app hello.py)
	touch "$BATS_TEST_TMPDIR/__pycache__"
	mkdir -m 700 "$BATS_TEST_TMPDIR/tmp" "$BATS_TEST_TMPDIR/elsewhere"
	ln -s "$BATS_TEST_TMPDIR/elsewhere" \
	    "$BATS_TEST_TMPDIR/tmp/wsgi-cgi-$(id -u)"
	run --separate-stderr cgi_run "TMPDIR=$BATS_TEST_TMPDIR/tmp" -- "$app"
	assert_success
	assert_line 'Hello World!'
	run ls "$BATS_TEST_TMPDIR/elsewhere"
	assert_output ""
}

@test "the private directory swapped for a symlink after it was checked is not followed" {
	app=$(scratch_app hello.py)
	touch "$BATS_TEST_TMPDIR/__pycache__"
	mkdir "$BATS_TEST_TMPDIR/tmp"
	priv=$BATS_TEST_TMPDIR/tmp/wsgi-cgi-$(id -u)
	run --separate-stderr cgi_run "TMPDIR=$BATS_TEST_TMPDIR/tmp" -- "$app"
	assert_success
	for f in "$priv"/*; do
		written_later "$f"
	done
	# Another user's directory (here: a copy) holding a planted cache.
	cp -a "$priv" "$BATS_TEST_TMPDIR/evil"
	for f in "$BATS_TEST_TMPDIR/evil"/*; do
		plant "$f" "$app" PLANTED
	done
	# gdb stops wsgi-cgi when it is about to read the cache, after the
	# directory was checked, and swaps the directory for a symlink.
	run env -i HOME="$BATS_TEST_TMPDIR" TMPDIR="$BATS_TEST_TMPDIR/tmp" \
	    ASAN_OPTIONS=detect_leaks=0 gdb -q -batch -nx \
	    -ex 'break cache_read' \
	    -ex "run $app >$BATS_TEST_TMPDIR/out 2>$BATS_TEST_TMPDIR/err" \
	    -ex "shell mv $priv $priv.real && ln -s $BATS_TEST_TMPDIR/evil $priv" \
	    -ex delete -ex continue --args "$WSGI_CGI"
	assert_line --partial 'exited normally'
	run cat "$BATS_TEST_TMPDIR/out"
	assert_line 'Hello World!'
	refute_line PLANTED
}
