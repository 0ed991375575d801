#!/usr/bin/env bats
# Errors: a clear answer on stdout, the reason and traceback on stderr
# (spec section 6).
load helpers

GENERIC='Status: 500 Internal Server Error\r
Content-Type: text/plain\r
Content-Length: 59\r
\r
A server error occurred.  Please contact the administrator.'

@test "a missing script: 500 and one line, exit 1" {
	run --separate-stderr cgi_raw -- /nonexistent/app.py
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: /nonexistent/app.py: GET /: cannot open the script: No such file or directory"
	run raw_output
	assert_output "$GENERIC"
}

@test "a directory is not a script" {
	run --separate-stderr cgi_raw -- "$APPS"
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: $APPS: GET /: the script is not a regular file"
}

@test "a script that does not compile: 500, reason and the SyntaxError" {
	run --separate-stderr cgi_raw -- "$APPS/syntax_error.py"
	assert_failure 1
	assert_stderr_line 0 "wsgi-cgi: $APPS/syntax_error.py: GET /: cannot compile the script: SyntaxError: expected ':' (syntax_error.py, line 2)"
	assert_stderr_line 1 "  File \"$APPS/syntax_error.py\", line 2"
	run raw_output
	assert_output "$GENERIC"
}

@test "a script that raises while loading: 500, reason and traceback" {
	run --separate-stderr cgi_raw -- "$APPS/raise_on_load.py"
	assert_failure 1
	assert_stderr_line 0 "wsgi-cgi: $APPS/raise_on_load.py: GET /: error while loading the script: ModuleNotFoundError: No module named 'this_module_does_not_exist'"
	assert_stderr_line 1 'Traceback (most recent call last):'
	run raw_output
	assert_output "$GENERIC"
}

@test "no callable: the error names the callables the script defines" {
	run --separate-stderr cgi_raw -- "$APPS/no_callable.py"
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: $APPS/no_callable.py: GET /: no callable named 'application' (the script defines: make_app, app)"
	run --separate-stderr cgi_raw -- "$APPS/not_callable.py"
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: $APPS/not_callable.py: GET /: 'application' is not callable (it is str)"
	run --separate-stderr cgi_raw -- --callable nothing "$APPS/hello.py"
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: $APPS/hello.py: GET /: no callable named 'nothing' (the script defines: application)"
}

@test "an app error before the headers: wsgiref's 500, traceback on stderr" {
	run --separate-stderr cgi_raw -- "$APPS/raise.py"
	assert_failure 1
	assert_stderr_line 0 "wsgi-cgi: $APPS/raise.py: GET /: application error: ZeroDivisionError: division by zero"
	assert_stderr_line 1 'Traceback (most recent call last):'
	assert_stderr_line 3 '    return [str(1 / 0).encode()]'
	run raw_output
	assert_output "$GENERIC"
}

@test "an app error after the headers: cut short, no second status, exit 1" {
	run --separate-stderr cgi_raw PATH_INFO=/after-headers -- \
	    "$APPS/response.py"
	assert_failure 1
	assert_stderr_line 0 "wsgi-cgi: $APPS/response.py: GET /after-headers: response cut short by an application error: RuntimeError: failed after the headers"
	assert_stderr_line 1 'Traceback (most recent call last):'
	run raw_output
	assert_output 'Status: 200 OK\r
Content-Type: text/plain\r
\r
partial'
}

@test "--debug puts the traceback in the 500 body; without it, never" {
	run --separate-stderr cgi_raw -- --debug "$APPS/raise.py"
	assert_failure 1
	run cat "$BATS_TEST_TMPDIR/out"
	assert_line --index 0 $'Status: 500 Internal Server Error\r'
	assert_line --index 1 $'Content-Type: text/plain\r'
	assert_line 'Traceback (most recent call last):'
	assert_line 'ZeroDivisionError: division by zero'
	run --separate-stderr cgi_raw -- "$APPS/raise.py"
	run cat "$BATS_TEST_TMPDIR/out"
	refute_output --partial Traceback
	refute_output --partial ZeroDivisionError
}

# gone_run PATH: the response fixture writing into a pipe nobody reads.
gone_run() {
	"$PYTHON3" -c '
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
env = {"PATH_INFO": sys.argv[3], "CLOSE_LOG": sys.argv[4]}
p = subprocess.run([sys.argv[1], sys.argv[2]], stdout=w, env=env,
                   stdin=subprocess.DEVNULL)
sys.exit(p.returncode)' "$WSGI_CGI" "$APPS/response.py" "$1" \
	    "$BATS_TEST_TMPDIR/close.log"
}

@test "the client gone before the first byte: one line, close(), exit 1" {
	run --separate-stderr gone_run /close
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: $APPS/response.py: GET /close: cannot write the response: Broken pipe"
	run cat "$BATS_TEST_TMPDIR/close.log"
	assert_output closed
}

@test "the client gone mid-body: no SIGPIPE death, one line, exit 1" {
	run --separate-stderr bash -c 'env -i PATH_INFO=/huge "$0" "$1" |
	    head -c 1000 >/dev/null; exit ${PIPESTATUS[0]}' "$WSGI_CGI" \
	    "$APPS/response.py"
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: $APPS/response.py: GET /huge: cannot write the response: Broken pipe"
}

@test "a NUL byte in the script is a SyntaxError, as python3 says, not code cut short" {
	script=$BATS_TEST_TMPDIR/app.py
	{ cat "$APPS/hello.py"; printf 'x = 1\0\nraise SystemExit("after the NUL")\n'; } \
	    >"$script"
	run --separate-stderr cgi_raw -- "$script"
	assert_failure 1
	assert_stderr_line 0 "wsgi-cgi: $script: GET /: cannot compile the script: SyntaxError: source code cannot contain null bytes (app.py, line 7)"
	run raw_output
	assert_line --index 0 'Status: 500 Internal Server Error\r'
}
