#!/usr/bin/env bats
# The command line: options, the #! line, usage errors (spec 1.1-1.5).
load helpers

@test "--help prints the man page's SYNOPSIS and the options, exit 0" {
	run --separate-stderr wsgi_cgi --help
	assert_success
	synopsis=$(mandoc -Tascii -O width=400 "$TESTS/../man/wsgi-cgi.1" |
	    sed 's/.\x08//g' | sed -n '/^SYNOPSIS/{n;p;}' | sed 's/^ *//')
	assert_line --index 0 "usage: $synopsis"
	for opt in --callable --check --debug --python-path --venv --help --version; do
		assert_output --partial -- "$opt"
		grep -q -- "Fl \\\\-${opt#--}" "$TESTS/../man/wsgi-cgi.1"
	done
	run --separate-stderr wsgi_cgi -h
	assert_success
	assert_line --index 0 "usage: $synopsis"
}

@test "--version names wsgi-cgi and the Python it embeds" {
	run --separate-stderr wsgi_cgi --version
	assert_success
	assert_output --regexp '^wsgi-cgi [0-9]+\.[0-9]+\.[0-9]+ \(Python 3\.[0-9]+\.[0-9]+\)$'
	run --separate-stderr wsgi_cgi -V
	assert_success
}

@test "usage errors exit 2 with the synopsis on stderr" {
	run --separate-stderr cgi_run --
	assert_failure 2
	assert_equal "$output" ""
	assert_stderr_line 0 --partial 'usage: wsgi-cgi [-hV]'
	run --separate-stderr cgi_run -- --bogus "$APPS/hello.py"
	assert_failure 2
	assert_stderr_line 0 'wsgi-cgi: unknown option --bogus'
	run --separate-stderr cgi_run -- --callable
	assert_failure 2
	assert_stderr_line 0 'wsgi-cgi: --callable needs a value'
}

@test "--check: silent and 0 for a good script, 1 and the reason otherwise" {
	run --separate-stderr cgi_run -- --check "$APPS/hello.py"
	assert_success
	assert_equal "$output$stderr" ""
	run --separate-stderr cgi_run -- --check "$APPS/no_callable.py"
	assert_failure 1
	assert_equal "$output" ""
	assert_equal "$stderr" "wsgi-cgi: $APPS/no_callable.py: no callable named 'application' (the script defines: make_app, app)"
	run --separate-stderr cgi_run -- --check "$APPS/syntax_error.py"
	assert_failure 1
	assert_equal "$output" ""
	assert_stderr_line 0 --partial 'cannot compile the script: SyntaxError'
	run --separate-stderr cgi_run -- --check --callable app \
	    "$APPS/no_callable.py"
	assert_success
}

@test "--callable NAME and --callable=NAME pick the callable" {
	run --separate-stderr cgi_run -- --callable app "$APPS/no_callable.py"
	assert_success
	assert_line middleware
	run --separate-stderr cgi_run -- --callable=app "$APPS/no_callable.py"
	assert_success
	assert_line middleware
}

@test "a #! line carries options as one word, split on blanks" {
	script=$BATS_TEST_TMPDIR/app.py
	{
		echo "#!$WSGI_CGI --callable app --debug"
		sed -n '/^import/,$p' "$APPS/no_callable.py"
		echo 'def broken(environ, start_response): return [1 / 0]'
	} >"$script"
	chmod +x "$script"
	run --separate-stderr env -i "$script"
	assert_success
	assert_line middleware
	sed -i "1s/.*/#!$(sed 's/[\/&]/\\&/g' <<<"$WSGI_CGI") --callable broken --debug/" "$script"
	run --separate-stderr env -i "$script"
	assert_failure 1
	assert_line 'ZeroDivisionError: division by zero'
}

@test "a plain #! line runs the script" {
	script=$BATS_TEST_TMPDIR/hello
	{ echo "#!$WSGI_CGI"; cat "$APPS/hello.py"; } >"$script"
	chmod +x "$script"
	run --separate-stderr env -i "$script"
	assert_success
	assert_line 'Hello World!'
}

@test "-- ends the options; words after SCRIPT are never options" {
	cp "$APPS/hello.py" "$BATS_TEST_TMPDIR/-dash.py"
	run --separate-stderr bash -c 'cd "$0" && env -i "$1" -- -dash.py' \
	    "$BATS_TEST_TMPDIR" "$WSGI_CGI"
	assert_success
	assert_line 'Hello World!'
	run --separate-stderr cgi_raw -- "$APPS/raise.py" --debug
	assert_failure 1
	run cat "$BATS_TEST_TMPDIR/out"
	refute_output --partial Traceback
	run --separate-stderr cgi_run -- "$APPS/environ.py" --debug -h word
	assert_success
	assert_line "sys.argv=['$APPS/environ.py', '--debug', '-h', 'word']"
}

@test "--venv DIR puts the environment's packages on sys.path" {
	ver=$("$PYTHON3" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	mkdir -p "$BATS_TEST_TMPDIR/venv/lib/python$ver/site-packages"
	echo 'WHERE = "venv"' >"$BATS_TEST_TMPDIR/venv/lib/python$ver/site-packages/venvmod.py"
	cat >"$BATS_TEST_TMPDIR/app.py" <<-'APP'
	import venvmod
	def application(environ, start_response):
	    start_response('200 OK', [])
	    return [venvmod.WHERE.encode()]
	APP
	run --separate-stderr cgi_run -- --venv "$BATS_TEST_TMPDIR/venv" \
	    "$BATS_TEST_TMPDIR/app.py"
	assert_success
	assert_line venv
	run --separate-stderr cgi_run -- --venv /nonexistent "$APPS/hello.py"
	assert_failure 2
	assert_stderr_line 0 "wsgi-cgi: $APPS/hello.py: GET /: cannot start Python: FileNotFoundError: --venv /nonexistent: no lib/python$ver/site-packages in it"
}

@test "--venv DIR is what the venv's own python sees: pyvenv.cfg, .pth files, sys.prefix" {
	venv=$BATS_TEST_TMPDIR/venv
	"$PYTHON3" -m venv --without-pip "$venv"
	site=$(echo "$venv"/lib/python3*/site-packages)
	# pip install -e leaves a .pth file naming the project's directory.
	mkdir "$BATS_TEST_TMPDIR/project"
	echo 'WHERE = "editable"' >"$BATS_TEST_TMPDIR/project/editable.py"
	echo "$BATS_TEST_TMPDIR/project" >"$site/__editable__.pth"
	cat >"$BATS_TEST_TMPDIR/app.py" <<-'APP'
	import sys
	import editable
	def application(environ, start_response):
	    try:
	        import flask
	        system = 'system packages visible'
	    except ImportError:
	        system = 'system packages hidden'
	    start_response('200 OK', [])
	    return [('%s\n%s\nprefix=%s\n' % (editable.WHERE, system,
	             sys.prefix)).encode()]
	APP
	run --separate-stderr cgi_run -- --venv "$venv" "$BATS_TEST_TMPDIR/app.py"
	assert_success
	assert_line editable
	assert_line 'system packages hidden'
	assert_line "prefix=$venv"
	sed -i 's/^include-system-site-packages = false/include-system-site-packages = true/' \
	    "$venv/pyvenv.cfg"
	run --separate-stderr cgi_run -- --venv "$venv" "$BATS_TEST_TMPDIR/app.py"
	assert_success
	assert_line 'system packages visible'
}

@test "--python-path DIR (repeatable) puts directories first on sys.path" {
	mkdir "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two"
	echo 'X = 1' >"$BATS_TEST_TMPDIR/one/mod_one.py"
	echo 'X = 2' >"$BATS_TEST_TMPDIR/two/mod_two.py"
	cat >"$BATS_TEST_TMPDIR/app.py" <<-'APP'
	import sys, mod_one, mod_two
	def application(environ, start_response):
	    start_response('200 OK', [])
	    return [('%d %d\n%r\n' % (mod_one.X, mod_two.X, sys.path[:3])).encode()]
	APP
	run --separate-stderr cgi_run -- --python-path "$BATS_TEST_TMPDIR/one" \
	    --python-path="$BATS_TEST_TMPDIR/two" "$BATS_TEST_TMPDIR/app.py"
	assert_success
	assert_line '1 2'
	run --separate-stderr cgi_run -- "$BATS_TEST_TMPDIR/app.py"
	assert_failure 1
	assert_stderr_line 0 --partial "No module named 'mod_one'"
}

@test "--check names a #! interpreter that is not installed (a copied config's No such file or directory)" {
	script=$BATS_TEST_TMPDIR/app.py
	{ echo '#!/nonexistent/bin/wsgi-cgi'; cat "$APPS/hello.py"; } >"$script"
	run --separate-stderr wsgi_cgi --check "$script"
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: $script: the #! line names /nonexistent/bin/wsgi-cgi: No such file or directory"
	{ echo "#!$WSGI_CGI"; cat "$APPS/hello.py"; } >"$script"
	run --separate-stderr wsgi_cgi --check "$script"
	assert_success
	assert_equal "$stderr" ""
}
