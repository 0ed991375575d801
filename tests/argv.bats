#!/usr/bin/env bats
# Nothing from the request becomes an option or picks the file that runs
# (spec 1.3, 1.3a; RFC 3875 4.4; php-cgi CVE-2012-1823, -2311, 2024-4577).
load helpers

@test "under a server, query words after SCRIPT are ignored: sys.argv is [SCRIPT]" {
	run --separate-stderr cgi_run $(server_vars "$APPS/environ.py") -- \
	    "$APPS/environ.py" --debug -h -s
	assert_success
	assert_line "sys.argv=['$APPS/environ.py']"
}

@test "under a server, an option-looking argv[1] not from the #! line is refused" {
	for words in --debug -h --help -s '-d allow_url_include=1' \
	    '--callable=app' '-dallow_url_include%3d1'; do
		run --separate-stderr cgi_raw $(server_vars "$APPS/raise.py") \
		    -- "$words" "$APPS/raise.py"
		assert_failure 1
		assert_equal "$stderr" "wsgi-cgi: GET /app.py: argv[1] \"$words\" is not the script's #! argument: refusing options from the request"
		run raw_output
		assert_line --index 0 'Status: 500 Internal Server Error\r'
		refute_output --partial usage
		refute_output --partial Traceback
	done
}

@test "under a server, argv's script must be SCRIPT_FILENAME" {
	run --separate-stderr cgi_raw $(server_vars "$APPS/hello.py") -- \
	    "$APPS/raise.py"
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: GET /app.py: argv names \"$APPS/raise.py\" but SCRIPT_FILENAME is \"$APPS/hello.py\": refusing"
	run raw_output
	assert_line --index 0 'Status: 500 Internal Server Error\r'
	# A soft hyphen (CVE-2024-4577) is no option, and no script either.
	run --separate-stderr cgi_raw $(server_vars "$APPS/hello.py") -- \
	    $'\xadd' "$APPS/hello.py"
	assert_failure 1
	assert_stderr_line 0 --partial 'but SCRIPT_FILENAME is'
}

@test "the same file by another path is the same script" {
	ln -s "$APPS/hello.py" "$BATS_TEST_TMPDIR/link.py"
	run --separate-stderr cgi_run $(server_vars "$APPS/hello.py") -- \
	    "$BATS_TEST_TMPDIR/link.py"
	assert_success
	assert_line 'Hello World!'
}

@test "a #! line's options are honoured under a server" {
	script=$BATS_TEST_TMPDIR/app.py
	{ echo "#!$WSGI_CGI --callable app"; cat "$APPS/no_callable.py"; } \
	    >"$script"
	chmod +x "$script"
	run --separate-stderr env -i $(server_vars "$script") "$script" \
	    --debug -x
	assert_success
	assert_line middleware
}

@test "Apache Action shape: the target is PATH_TRANSLATED after a redirect" {
	run --separate-stderr cgi_run GATEWAY_INTERFACE=CGI/1.1 \
	    REQUEST_METHOD=GET SERVER_PROTOCOL=HTTP/1.1 \
	    "SCRIPT_FILENAME=$WSGI_CGI" REDIRECT_STATUS=200 \
	    REDIRECT_URL=/environ.py REDIRECT_HANDLER=wsgi-script \
	    "PATH_TRANSLATED=$APPS/environ.py" -- /tmp/evil.py --debug
	assert_success
	assert_line "sys.argv=['$APPS/environ.py']"
}

@test "Apache Action shape without REDIRECT_STATUS is refused (direct access)" {
	run --separate-stderr cgi_raw GATEWAY_INTERFACE=CGI/1.1 \
	    REQUEST_METHOD=GET SERVER_PROTOCOL=HTTP/1.1 \
	    "SCRIPT_FILENAME=$WSGI_CGI" "PATH_TRANSLATED=$APPS/hello.py" -- \
	    "$APPS/hello.py"
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: GET /: run as the CGI program itself without an Action redirect (REDIRECT_STATUS, REDIRECT_URL, REDIRECT_HANDLER) and PATH_TRANSLATED: refusing direct access"
	run raw_output
	assert_line --index 0 'Status: 500 Internal Server Error\r'
}

@test "PYTHON* variables from the server do not change the interpreter" {
	run --separate-stderr cgi_run $(server_vars "$APPS/environ.py") \
	    PYTHONHOME=/nonexistent PYTHONPATH=/evil PYTHONSTARTUP=/evil.py \
	    PYTHONINSPECT=1 PYTHONWARNINGS=error -- "$APPS/environ.py"
	assert_success
	assert_line "PYTHONPATH='/evil'"
	refute_output --partial "'/evil',"
}

@test "php-cgi's CVE-2012-1823/-2311/2024-4577 argv, in every shape" {
	local exploit=(-d allow_url_include=1 -d auto_prepend_file=php://input
	    -s -c /tmp/evil.ini $'\xadd' /tmp/evil.py --debug)
	# #! or cgi.assign shape: the words follow the script and are ignored.
	run --separate-stderr cgi_raw $(server_vars "$APPS/raise.py") -- \
	    "$APPS/raise.py" "${exploit[@]}"
	assert_failure 1
	run raw_output
	assert_output --partial 'A server error occurred.'
	refute_output --partial Traceback
	# A script path as the first query word, after the real script.
	run --separate-stderr cgi_run $(server_vars "$APPS/hello.py") -- \
	    "$APPS/hello.py" "$APPS/raise.py" "${exploit[@]}"
	assert_success
	assert_line 'Hello World!'
	# Action shape, the words first: only PATH_TRANSLATED, after a redirect.
	run --separate-stderr cgi_run GATEWAY_INTERFACE=CGI/1.1 \
	    REQUEST_METHOD=GET SERVER_PROTOCOL=HTTP/1.1 \
	    "SCRIPT_FILENAME=$WSGI_CGI" REDIRECT_STATUS=200 \
	    REDIRECT_URL=/environ.py REDIRECT_HANDLER=wsgi-script \
	    "PATH_TRANSLATED=$APPS/environ.py" -- "${exploit[@]}"
	assert_success
	assert_line "sys.argv=['$APPS/environ.py']"
	run --separate-stderr cgi_raw GATEWAY_INTERFACE=CGI/1.1 \
	    REQUEST_METHOD=GET SERVER_PROTOCOL=HTTP/1.1 \
	    "SCRIPT_FILENAME=$WSGI_CGI" -- "${exploit[@]}"
	assert_failure 1
	run raw_output
	assert_line --index 0 'Status: 500 Internal Server Error\r'
}

@test "under a server, --version, --help or an unknown word in the #! line is a 500 with the reason" {
	script=$BATS_TEST_TMPDIR/app.py
	for word in --version --help --bogus; do
		{ echo "#!$WSGI_CGI $word"; cat "$APPS/hello.py"; } >"$script"
		chmod +x "$script"
		run --separate-stderr cgi_raw $(server_vars "$script") -- "$script"
		assert_failure 1
		case $word in
		--bogus) reason='the #! line: unknown option --bogus' ;;
		*) reason='--help and --version belong on the command line only' ;;
		esac
		assert_equal "$stderr" "wsgi-cgi: $script: GET /app.py: $reason"
		run raw_output
		assert_line --index 0 'Status: 500 Internal Server Error\r'
	done
}

@test "a FIFO is never opened as a script: no hang, as argv's script or under a server" {
	mkfifo "$BATS_TEST_TMPDIR/app.py"
	run --separate-stderr timeout 10 env -i "$WSGI_CGI" \
	    "$BATS_TEST_TMPDIR/app.py"
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: $BATS_TEST_TMPDIR/app.py: GET /: the script is not a regular file"
	# Under a server SCRIPT_FILENAME is compared before argv's is opened.
	run --separate-stderr timeout 10 env -i $(server_vars "$APPS/hello.py") \
	    "$WSGI_CGI" --debug "$BATS_TEST_TMPDIR/app.py"
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: GET /app.py: argv names \"$BATS_TEST_TMPDIR/app.py\" but SCRIPT_FILENAME is \"$APPS/hello.py\": refusing"
}

@test "the #! line's options hold however the script is started (cgi.assign runs wsgi-cgi SCRIPT)" {
	script=$BATS_TEST_TMPDIR/app.py
	{ echo "#!/usr/local/bin/wsgi-cgi --callable app"; cat "$APPS/no_callable.py"; } \
	    >"$script"
	run --separate-stderr cgi_run $(server_vars "$script") -- "$script"
	assert_success
	assert_line middleware
	# Through env(1) too.
	{ echo "#!/usr/bin/env -S wsgi-cgi --callable app"; cat "$APPS/no_callable.py"; } \
	    >"$script"
	run --separate-stderr cgi_run $(server_vars "$script") -- "$script"
	assert_success
	assert_line middleware
	# Another interpreter's #! line gives no options.
	{ echo "#!/usr/bin/python3 --callable app"; cat "$APPS/no_callable.py"; } \
	    >"$script"
	run --separate-stderr cgi_run $(server_vars "$script") -- "$script"
	assert_failure 1
}

@test "WSGI_CGI_OPTIONS from the server's configuration; the #! line wins over it" {
	run --separate-stderr cgi_run $(server_vars "$APPS/no_callable.py") \
	    "WSGI_CGI_OPTIONS=--callable app" -- "$APPS/no_callable.py"
	assert_success
	assert_line middleware
	script=$BATS_TEST_TMPDIR/app.py
	{ echo "#!/usr/local/bin/wsgi-cgi --callable make_app"; cat "$APPS/no_callable.py"; } \
	    >"$script"
	run --separate-stderr cgi_run $(server_vars "$script") \
	    "WSGI_CGI_OPTIONS=--callable app" -- "$script"
	assert_failure 1
	assert_output --partial 'Status: 500'
	# A bad word there is the configuration's mistake: 500 and why.
	run --separate-stderr cgi_run $(server_vars "$APPS/hello.py") \
	    "WSGI_CGI_OPTIONS=--bogus" -- "$APPS/hello.py"
	assert_failure 1
	assert_equal "$stderr" "wsgi-cgi: $APPS/hello.py: GET /app.py: WSGI_CGI_OPTIONS: unknown option --bogus"
	# A client's header can never set it: HTTP_WSGI_CGI_OPTIONS is ignored.
	run --separate-stderr cgi_run $(server_vars "$APPS/hello.py") \
	    "HTTP_WSGI_CGI_OPTIONS=--bogus" -- "$APPS/hello.py"
	assert_success
}
