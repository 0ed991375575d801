#!/usr/bin/env bats
# Warm start (--warm): a backend per script answers unchanged CGI scripts
# by forking a child per request; the child runs the cold path's code.
load helpers

setup_file() {
	export DIR=$BATS_FILE_TMPDIR
	# The app and its helper module, old enough for a backend to trust
	# (a file changed within 2 seconds of the import is not).
	mkdir -p "$DIR/app"
	cp "$APPS/warm.py" "$APPS/warm_helper.py" "$APPS/threaded.py" \
	    "$APPS/threaded_helper.py" "$DIR/app/"
	sleep 2.2
}

teardown_file() {
	local f
	for f in "$DIR"/app/*.py "$DIR"/www/*/*.py; do
		[ -e "$f" ] && "$WSGI_CGI" --warm-stop "$f" >/dev/null 2>&1
	done
	return 0
}

teardown() {
	local f
	for f in "$BATS_TEST_TMPDIR"/*/*.py; do
		[ -e "$f" ] && "$WSGI_CGI" --warm-stop "$f" >/dev/null 2>&1
	done
	return 0
}

# warm SCRIPT PATH_INFO [NAME=value...]: one request with --warm, as
# lighttpd would send it, straight (not twice: these tests say when).
warm() {
	local script=$1 path=$2
	shift 2
	env -i $(server_vars "$script") "PATH_INFO=$path" \
	    "MARKER=$BATS_TEST_TMPDIR/marker" "$@" \
	    WSGI_CGI_OPTIONS=--warm=60 "$WSGI_CGI" "$script" </dev/null
}

# ready SCRIPT: a request, then within 10 seconds its backend listens.
ready() {
	local i
	warm "$1" / >/dev/null 2>&1
	for i in $(seq 100); do
		[ -n "$(warm_pid "$1")" ] && return 0
		sleep 0.1
	done
	fail "no warm backend of $1"
}

# served SCRIPT: how many requests SCRIPT's backend has served.
served() {
	"$WSGI_CGI" --warm-status "$1" |
	    sed -n 's/.*, \([0-9]*\) requests,.*/\1/p'
}

# aged: files copied just now become old enough to be trusted (their
# ctime cannot be set back).
aged() {
	sleep 2.2
}

@test "the next request is a warm backend's child, byte for byte the cold response" {
	local app=$DIR/app/warm.py pid n
	"$WSGI_CGI" --warm-stop "$app" >/dev/null || true
	warm "$app" /echo QUERY_STRING=abc >"$BATS_TEST_TMPDIR/cold"
	ready "$app"
	pid=$(warm_pid "$app")
	# (ready's own request may have been served warm already.)
	n=$(served "$app")
	warm "$app" /echo QUERY_STRING=abc >"$BATS_TEST_TMPDIR/warm"
	cmp "$BATS_TEST_TMPDIR/cold" "$BATS_TEST_TMPDIR/warm"
	[ "$(served "$app")" = $((n + 1)) ]
	# Its parent is the backend, which is named as such.
	run warm "$app" /ppid
	assert_line "$pid"
	assert_equal "$(cat "/proc/$pid/comm")" wsgi-cgi-warm
	# sys.argv is the script, as in a cold request.
	run warm "$app" /
	assert_line "warm $app"
}

@test "module state, the request's environment and random never carry over" {
	local app=$DIR/app/warm.py pid a b
	ready "$app"
	pid=$(warm_pid "$app")
	run warm "$app" /state HTTP_X=secret
	assert_line 'count=1 helper=1'
	run warm "$app" /state
	assert_line 'count=1 helper=1'
	# os.environ is exactly the request's.
	warm "$app" /env HTTP_Y=2 | sed '1,/^\r$/d' >"$BATS_TEST_TMPDIR/warm"
	"$WSGI_CGI" --warm-stop "$app" >/dev/null
	env -i $(server_vars "$app") PATH_INFO=/env \
	    "MARKER=$BATS_TEST_TMPDIR/marker" HTTP_Y=2 WSGI_CGI_OPTIONS=--warm=60 \
	    "$WSGI_CGI" "$app" | sed '1,/^\r$/d' >"$BATS_TEST_TMPDIR/cold"
	diff "$BATS_TEST_TMPDIR/cold" "$BATS_TEST_TMPDIR/warm"
	run grep HTTP_X "$BATS_TEST_TMPDIR/warm"
	assert_failure
	ready "$app"
	pid=$(warm_pid "$app")
	# The backend's own environment has no request in it, in C, in
	# Python, or where the kernel shows it.
	run bash -c "tr '\\0' '\\n' </proc/$pid/environ"
	refute_output --partial HTTP_
	refute_output --partial GATEWAY_INTERFACE
	refute_output --partial SCRIPT_FILENAME
	a=$(warm "$app" /random | tail -n 1)
	b=$(warm "$app" /random | tail -n 1)
	[ "$a" != "$b" ]
}

@test "--warm-app: the script's body runs once, in the backend; state is still per request" {
	local dir=$BATS_TEST_TMPDIR/app
	mkdir "$dir"
	cp "$APPS/warm.py" "$APPS/warm_helper.py" "$dir/"
	aged
	# (Not warm(): its own WSGI_CGI_OPTIONS would come last and win.)
	run env -i $(server_vars "$dir/warm.py") PATH_INFO=/loaded \
	    WSGI_CGI_OPTIONS=--warm-app "$WSGI_CGI" "$dir/warm.py"
	assert_line 'body ran in this process'
	for i in $(seq 100); do
		[ -n "$(warm_pid "$dir/warm.py")" ] && break
		sleep 0.1
	done
	for i in 1 2; do
		run env -i $(server_vars "$dir/warm.py") PATH_INFO=/loaded \
		    WSGI_CGI_OPTIONS=--warm-app "$WSGI_CGI" "$dir/warm.py"
		assert_line 'body ran in the parent'
		run env -i $(server_vars "$dir/warm.py") PATH_INFO=/state \
		    WSGI_CGI_OPTIONS=--warm-app "$WSGI_CGI" "$dir/warm.py"
		assert_line 'count=1 helper=1'
	done
	# The script is watched with the imports: an edit, the next request.
	sed -i 's/warm %s/WARM %s/' "$dir/warm.py"
	run env -i $(server_vars "$dir/warm.py") PATH_INFO=/ \
	    WSGI_CGI_OPTIONS=--warm-app "$WSGI_CGI" "$dir/warm.py"
	assert_line "WARM $dir/warm.py"
}

@test "the backend holds none of the server's descriptors" {
	local app=$DIR/app/warm.py pid fds
	ready "$app"
	pid=$(warm_pid "$app")
	fds=$(ls -l "/proc/$pid/fd" | sed -n 's/.* -> //p' | sort)
	assert_equal "$(grep -c '^/dev/null$' <<<"$fds")" 3
	# Its listening socket, and those its spare children wait on.
	[ "$(grep -c '^socket:' <<<"$fds")" -le 3 ]
	# One pipe of its own, both ends (children say on it that they have
	# answered): a server's pipe would show one end.
	run grep -c '^pipe:' <<<"$fds"
	assert_output 2
	run uniq -c <<<"$(grep '^pipe:' <<<"$fds")"
	assert_output --regexp '^ *2 pipe:'
	# The listening socket is in the private directory, this user's only.
	run stat -c %a "/tmp/wsgi-cgi-$(id -u)"
	assert_output 700
}

@test "a message with more descriptors than a request has is refused; the backend goes on" {
	local app=$DIR/app/warm.py pid
	ready "$app"
	pid=$(warm_pid "$app")
	# HELLO, then a REQUEST carrying six descriptors where five belong.
	run "$PYTHON3" -c '
import array, glob, os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(glob.glob(sys.argv[1] + "/warm-*.sock")[0])
s.recv(8192)
msg = struct.pack("<IHHiIQq", 0x57534743, 1, 2, 0o22, 0, 0, 0) + \
    b"/x".ljust(4096, b"\0")
fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(6)]
s.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                   array.array("i", fds))])
print("closed" if s.recv(8192) == b"" else "answered")' "/tmp/wsgi-cgi-$(id -u)"
	assert_success
	assert_output closed
	# Alive, none of the six kept, and still answering warm.
	run kill -0 "$pid"
	assert_success
	run bash -c 'ls -l "/proc/$1/fd" | grep -c " -> /dev/null$"' _ "$pid"
	assert_output 3
	run warm "$app" /pid
	assert_success
	assert_equal "$(warm_pid "$app")" "$pid"
}

@test "an edit of the script or of a module it imports is served by the next request" {
	local dir=$BATS_TEST_TMPDIR/edit
	mkdir "$dir"
	cp "$APPS/warm.py" "$APPS/warm_helper.py" "$dir/"
	aged
	ready "$dir/warm.py"
	run warm "$dir/warm.py" /helper
	assert_line 'helper AAA'
	[ "$(served "$dir/warm.py")" -ge 1 ]
	# The script: same size, same second.
	sed -i 's/warm %s/WARM %s/' "$dir/warm.py"
	run warm "$dir/warm.py" /
	assert_line "WARM $dir/warm.py"
	# The helper, edited in place: same size, same inode.
	"$PYTHON3" -c 'import sys
with open(sys.argv[1], "r+b") as f:
    data = f.read().replace(b"AAA", b"BBB")
    f.seek(0)
    f.write(data)' "$dir/warm_helper.py"
	run warm "$dir/warm.py" /helper
	assert_line 'helper BBB'
	# Then renamed over (sed -i), once a new backend has it.
	sleep 2.2
	ready "$dir/warm.py"
	run warm "$dir/warm.py" /helper
	assert_line 'helper BBB'
	sed -i 's/BBB/CCC/' "$dir/warm_helper.py"
	run warm "$dir/warm.py" /helper
	assert_line 'helper CCC'
}

@test "a backend killed between requests or during one: every response whole" {
	local app=$DIR/app/warm.py pid req stem
	ready "$app"
	pid=$(warm_pid "$app")
	# Its files are named after the lock it holds.
	stem=$(ls -l "/proc/$pid/fd" | sed -n 's/.* -> \(.*\)\.lock$/\1/p')
	[ -S "$stem.sock" ]
	kill -9 "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	# Its socket file is left behind: the next request is served cold.
	[ -S "$stem.sock" ]
	run warm "$app" /echo QUERY_STRING=after
	assert_success
	assert_line after
	ready "$app"
	[ "$(warm_pid "$app")" != "$pid" ]
	# Killed while a child serves: the child finishes; status 0.
	pid=$(warm_pid "$app")
	warm "$app" /sleep QUERY_STRING=1 >"$BATS_TEST_TMPDIR/out" &
	req=$!
	for i in $(seq 50); do
		[ -e "$BATS_TEST_TMPDIR/marker" ] && break
		sleep 0.1
	done
	kill -9 "$pid"
	wait "$req"
	run cat "$BATS_TEST_TMPDIR/out"
	assert_line slept
}

@test "SIGTERM from the server reaches the request's process" {
	local app=$DIR/app/warm.py fe
	ready "$app"
	env -i $(server_vars "$app") PATH_INFO=/sleep QUERY_STRING=30 \
	    "MARKER=$BATS_TEST_TMPDIR/marker" WSGI_CGI_OPTIONS=--warm=60 \
	    "$WSGI_CGI" "$app" </dev/null >"$BATS_TEST_TMPDIR/out" \
	    2>"$BATS_TEST_TMPDIR/err" &
	fe=$!
	for i in $(seq 50); do
		[ -e "$BATS_TEST_TMPDIR/marker" ] && break
		sleep 0.1
	done
	# The front end is env's child: env executes it, same pid.
	kill -TERM "$fe"
	run wait "$fe"
	assert_failure
	run cat "$BATS_TEST_TMPDIR/err"
	assert_line 'interrupted: SystemExit'
	assert_line --partial 'terminated by SIGTERM'
}

@test "a private directory that is not private: served cold, and said" {
	local tmp=$BATS_TEST_TMPDIR/tmp
	mkdir -p "$tmp/wsgi-cgi-$(id -u)"
	chmod 755 "$tmp/wsgi-cgi-$(id -u)"
	run --separate-stderr warm "$DIR/app/warm.py" /echo QUERY_STRING=x \
	    "TMPDIR=$tmp"
	assert_success
	assert_line x
	assert_stderr_line 0 --partial 'warm start: the private directory'
	run ls "$tmp/wsgi-cgi-$(id -u)"
	refute_output --partial .sock
	[ "$(id -u)" -eq 0 ] || skip "needs root to give the directory away"
	chmod 700 "$tmp/wsgi-cgi-$(id -u)"
	chown 65534 "$tmp/wsgi-cgi-$(id -u)"
	run --separate-stderr warm "$DIR/app/warm.py" /echo QUERY_STRING=y \
	    "TMPDIR=$tmp"
	assert_success
	assert_line y
	assert_stderr_line 0 --partial 'warm start: the private directory'
}

@test "another user running the same script gets a backend of their own" {
	[ "$(id -u)" = 0 ] || skip "needs root to run as nobody"
	local dir=/tmp/wsgi-cgi-test-$$ root_pid other_pid
	mkdir -p "$dir"
	cp "$APPS/warm.py" "$APPS/warm_helper.py" "$dir/"
	chmod 755 "$dir"
	chmod 644 "$dir"/*.py
	aged
	ready "$dir/warm.py"
	root_pid=$(warm_pid "$dir/warm.py")
	as_nobody() {
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	}
	as_nobody env -i $(server_vars "$dir/warm.py") PATH_INFO=/ \
	    WSGI_CGI_OPTIONS=--warm=60 "$WSGI_CGI" "$dir/warm.py" >/dev/null
	for i in $(seq 100); do
		other_pid=$(as_nobody "$WSGI_CGI" --warm-status "$dir/warm.py" |
		    sed -n 's/.*: warm backend \([0-9]*\),.*/\1/p')
		[ -n "$other_pid" ] && break
		sleep 0.1
	done
	run as_nobody env -i $(server_vars "$dir/warm.py") PATH_INFO=/ppid \
	    WSGI_CGI_OPTIONS=--warm=60 "$WSGI_CGI" "$dir/warm.py"
	assert_line "$other_pid"
	[ "$other_pid" != "$root_pid" ]
	assert_equal "$(stat -c %u "/proc/$other_pid")" 65534
	as_nobody "$WSGI_CGI" --warm-stop "$dir/warm.py" >/dev/null
	"$WSGI_CGI" --warm-stop "$dir/warm.py" >/dev/null
	rm -rf "$dir"
}

@test "imports that start a thread: every request cold, said once" {
	local app=$DIR/app/threaded.py
	run --separate-stderr warm "$app" /
	assert_line 'threaded 1'
	for i in $(seq 100); do
		[ -n "$(warm_pid "$app")" ] && break
		sleep 0.1
	done
	run --separate-stderr warm "$app" /
	assert_line 'threaded 1'
	assert_stderr_line 0 --partial 'imports started threads'
	run --separate-stderr warm "$app" /
	assert_line 'threaded 1'
	assert_equal "$stderr" ''
	run "$WSGI_CGI" --warm-status "$app"
	assert_output --partial '0 requests'
	assert_output --partial 'started threads'
}

@test "--warm-status, --warm-stop and the idle time" {
	local dir=$BATS_TEST_TMPDIR/idle pid kids k alive
	mkdir "$dir"
	cp "$APPS/warm.py" "$APPS/warm_helper.py" "$dir/"
	sed -i '1i #!/usr/local/bin/wsgi-cgi --warm=1' "$dir/warm.py"
	run "$WSGI_CGI" --warm-status "$dir/warm.py"
	assert_failure 1
	assert_output "$dir/warm.py: no warm backend"
	aged
	ready "$dir/warm.py"
	pid=$(warm_pid "$dir/warm.py")
	# The #! line's --warm=1 holds: idle for a second, it is gone.
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	run kill -0 "$pid"
	assert_failure
	ready "$dir/warm.py"
	pid=$(warm_pid "$dir/warm.py")
	# Requests back to back: one or two spare children wait, no more.
	for i in $(seq 10); do
		warm "$dir/warm.py" / >/dev/null 2>&1
	done
	# (The last request's child may still be exiting: it goes.)
	for i in $(seq 100); do
		kids=$(cat /proc/"$pid"/task/*/children)
		[ "$(wc -w <<<"$kids")" -le 2 ] && break
		sleep 0.1
	done
	[ "$(wc -w <<<"$kids")" -ge 1 ] && [ "$(wc -w <<<"$kids")" -le 2 ]
	run "$WSGI_CGI" --warm-stop "$dir/warm.py"
	assert_success
	assert_output "$dir/warm.py: warm backend $pid stopped"
	# It has exited (its parent, init, reaps it), and its spares with it.
	for i in $(seq 50); do
		alive=
		for k in $pid $kids; do
			kill -0 "$k" 2>/dev/null && alive=1
		done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	run kill -0 "$pid"
	assert_failure
	for k in $kids; do
		run kill -0 "$k"
		assert_failure
	done
	# Under a server these are refused, as every shell-only option.
	run env -i $(server_vars "$dir/warm.py") WSGI_CGI_OPTIONS=--warm-stop \
	    "$WSGI_CGI" "$dir/warm.py"
	assert_failure 1
	assert_line --index 0 $'Status: 500 Internal Server Error\r'
}

@test "lighttpd: 200 concurrent warm requests, every body right; each response ends at its last byte" {
	mkdir -p "$DIR/www/w"
	cp "$APPS/warm.py" "$APPS/warm_helper.py" "$DIR/www/w/"
	aged
	lighttpd_start "$DIR" \
	    "setenv.set-environment = ( \"WSGI_CGI_OPTIONS\" => \"--warm=60\", \"MARKER\" => \"$DIR/marker\", \"ATEXIT_MARKER\" => \"$DIR/atexit\" )"
	curl -sS "$LIGHTTPD_URL/w/warm.py/" >/dev/null
	for i in $(seq 100); do
		[ -n "$(warm_pid "$DIR/www/w/warm.py")" ] && break
		sleep 0.1
	done
	# The atexit handler takes a second after the response; the client
	# has its response before that (nobody else holds the pipe).
	rm -f "$DIR/atexit"
	run curl -sS "$LIGHTTPD_URL/w/warm.py/echo?atexit"
	assert_output atexit
	[ ! -e "$DIR/atexit" ]
	for i in $(seq 50); do
		[ -e "$DIR/atexit" ] && break
		sleep 0.1
	done
	[ -e "$DIR/atexit" ]
	before=$(served "$DIR/www/w/warm.py")
	"$PYTHON3" - "$LIGHTTPD_URL/w/warm.py/echo" <<-'PY'
	import concurrent.futures, sys, urllib.request
	def get(i):
	    with urllib.request.urlopen('%s?n=%d' % (sys.argv[1], i)) as r:
	        return r.read() == b'n=%d\n' % i
	with concurrent.futures.ThreadPoolExecutor(200) as ex:
	    ok = list(ex.map(get, range(200)))
	sys.exit(0 if all(ok) else 'bad bodies: %d' % ok.count(False))
	PY
	# How many were warm depends on the machine's load; that the backend
	# lived through it and answers the next does not.
	run curl -sS "$LIGHTTPD_URL/w/warm.py/echo?n=last"
	assert_success
	assert_output 'n=last'
	[ "$(served "$DIR/www/w/warm.py")" -gt "$before" ]
	lighttpd_stop "$DIR"
}

@test "lighttpd: the five framework apps give the same bytes warm as cold" {
	local fw
	mkdir -p "$DIR/www/cold" "$DIR/www/warm"
	cp "$APPS"/frameworks/*.py "$DIR/www/cold/"
	cp "$APPS"/frameworks/*.py "$DIR/www/warm/"
	lighttpd_start "$DIR" \
	    '$HTTP["url"] =~ "^/warm/" { setenv.set-environment = ( "WSGI_CGI_OPTIONS" => "--warm=60" ) }'
	for fw in flask django bottle falcon werkzeug; do
		curl -sS "$LIGHTTPD_URL/warm/${fw}_app.py/hello" >/dev/null
		for i in $(seq 100); do
			[ -n "$(warm_pid "$DIR/www/warm/${fw}_app.py")" ] && break
			sleep 0.1
		done
		for path in '/hello?name=Ada' /json /error /no-such-route; do
			curl -sS -i "$LIGHTTPD_URL/cold/${fw}_app.py$path" |
			    sed -e '/^Date: /d' -e '/^Transfer-Encoding: /d' -e '/^Accept-Ranges: /d' \
			    -e '/^Content-Length: /d' -e 's|/cold/|/X/|g' \
			    >"$BATS_TEST_TMPDIR/cold"
			curl -sS -i "$LIGHTTPD_URL/warm/${fw}_app.py$path" |
			    sed -e '/^Date: /d' -e '/^Transfer-Encoding: /d' -e '/^Accept-Ranges: /d' \
			    -e '/^Content-Length: /d' -e 's|/warm/|/X/|g' \
			    >"$BATS_TEST_TMPDIR/warm"
			diff "$BATS_TEST_TMPDIR/cold" "$BATS_TEST_TMPDIR/warm"
		done
		[ "$(served "$DIR/www/warm/${fw}_app.py")" -ge 4 ]
	done
	lighttpd_stop "$DIR"
}
