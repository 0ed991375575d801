# Shared by every bats file: the binary under test, the fixture apps, and
# cgi_run, which runs wsgi-cgi with only the variables a test names.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

TESTS=$(cd "$BATS_TEST_DIRNAME" && pwd)
APPS=$TESTS/apps
WSGI_CGI=${WSGI_CGI:-$TESTS/../wsgi-cgi}
WSGI_CGI=$(cd "$(dirname "$WSGI_CGI")" && pwd)/$(basename "$WSGI_CGI")
# The system Python, whatever python3 is first on PATH.
PYTHON3=${PYTHON3:-/usr/bin/python3}

# wsgi_cgi ARGS...: the binary, as a user runs it, with the caller's env.
wsgi_cgi() {
	"$WSGI_CGI" "$@"
}

# cgi_run [NAME=value...] -- ARGS...: wsgi-cgi under env -i, so that the
# host environment never leaks in; stdin is $STDIN or /dev/null.
cgi_run() {
	local vars=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		vars+=("$1")
		shift
	done
	shift
	env -i "${vars[@]}" "$WSGI_CGI" "$@" <"${STDIN:-/dev/null}"
}

# cgi_raw [NAME=value...] -- ARGS...: as cgi_run, but the response bytes
# go to $BATS_TEST_TMPDIR/out, for byte-exact checks.
cgi_raw() {
	cgi_run "$@" >"$BATS_TEST_TMPDIR/out"
}

# The variables a server such as lighttpd sets for GET SCRIPT.
server_vars() {
	echo GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET \
	    SERVER_PROTOCOL=HTTP/1.1 SERVER_NAME=localhost SERVER_PORT=80 \
	    SCRIPT_NAME=/app.py QUERY_STRING= "SCRIPT_FILENAME=$1"
}

# A copy of a fixture app in the test's scratch directory.
scratch_app() {
	cp "$APPS/$1" "$BATS_TEST_TMPDIR/${2:-$1}"
	echo "$BATS_TEST_TMPDIR/${2:-$1}"
}

# Exact response bytes, with CR shown as \r.
raw_output() {
	sed 's/\r/\\r/g' "$BATS_TEST_TMPDIR/out"
}

# assert_stderr_line INDEX [--partial] TEXT: line INDEX (from 0) of $stderr
# equals TEXT, or contains it with --partial.
assert_stderr_line() {
	local index=$1 partial=false line
	shift
	if [ "$1" = --partial ]; then
		partial=true
		shift
	fi
	line=$(sed -n "$((index + 1))p" <<<"$stderr")
	if $partial && [[ "$line" == *"$1"* ]]; then
		return 0
	elif ! $partial && [ "$line" = "$1" ]; then
		return 0
	fi
	batslib_print_kv_single_or_multi 8 index "$index" expected "$1" \
	    line "$line" stderr "$stderr" |
	    batslib_decorate 'stderr line differs' | fail
}

# A free TCP port on 127.0.0.1.
free_port() {
	"$PYTHON3" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# wait_http URL: until the server answers, at most 10 seconds.
wait_http() {
	local i
	for i in $(seq 100); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "no answer from $1" >&2
	return 1
}

# lighttpd_start DIR [CONFIG...]: lighttpd on 127.0.0.1 and a free port,
# serving DIR/www: .py through wsgi-cgi (cgi.assign), files in /cgi-bin/ by
# their #! line, and whatever lines are given after DIR.  Sets LIGHTTPD_URL;
# the error log, where CGI stderr goes, is DIR/error.log.
lighttpd_start() {
	local dir=$1 port
	shift
	port=$(free_port)
	{
		echo "server.document-root = \"$dir/www\""
		echo 'server.bind = "127.0.0.1"'
		echo "server.port = $port"
		echo "server.pid-file = \"$dir/lighttpd.pid\""
		echo "server.errorlog = \"$dir/error.log\""
		echo "server.upload-dirs = ( \"$dir\" )"
		echo 'server.modules = ( "mod_setenv", "mod_cgi" )'
		echo 'server.max-request-size = 102400'
		echo 'server.stream-response-body = 2'
		echo "cgi.assign = ( \".py\" => \"$WSGI_CGI\" )"
		echo '$HTTP["url"] =~ "^/cgi-bin/" { cgi.assign = ( "" => "" ) }'
		printf '%s\n' "$@"
	} >"$dir/lighttpd.conf"
	# In the foreground lighttpd leaves its stderr, which CGI programs
	# inherit, alone: send it to the error log too.
	lighttpd -D -f "$dir/lighttpd.conf" >>"$dir/error.log" 2>&1 3>&- &
	echo $! >"$dir/lighttpd.ppid"
	export LIGHTTPD_URL=http://127.0.0.1:$port
	wait_http "$LIGHTTPD_URL/"
}

lighttpd_stop() {
	stop_pid "$1/lighttpd.ppid"
}

# stop_pid FILE: the server whose pid FILE holds, stopped and reaped.
stop_pid() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# assert_gone PATTERN: within 10 seconds no process matches PATTERN.
assert_gone() {
	local i
	for i in $(seq 100); do
		pgrep -f "$1" >/dev/null || return 0
		sleep 0.1
	done
	fail "still running: $(pgrep -af "$1")"
}

# apache_start DIR: Debian's apache2 in the foreground with its own config,
# mpm_event and mod_cgid (stdin and stdout one socket), on 127.0.0.1 and a
# free port, serving DIR/www: .py files run by their #! line, as cgi-script,
# and .wsgi files in DIR/www/act by Action through /cgi-bin/wsgi-cgi.
# Apache runs CGI programs as www-data, so DIR must be world-readable and
# the scripts' #! line should name DIR/bin/wsgi-cgi, a copy of the binary.
# Sets APACHE_URL; CGI stderr goes to DIR/error.log.
apache_start() {
	local dir=$1 port mods=/usr/lib/apache2/modules
	port=$(free_port)
	mkdir -p "$dir/bin"
	cp "$WSGI_CGI" "$dir/bin/wsgi-cgi"
	chmod 755 "$dir" "$dir/bin" "$dir/www"
	cat >"$dir/httpd.conf" <<-CONF
	ServerRoot "$dir"
	ServerName localhost
	Listen 127.0.0.1:$port
	PidFile "$dir/httpd.pid"
	ErrorLog "$dir/error.log"
	LogLevel warn
	LoadModule mpm_event_module $mods/mod_mpm_event.so
	LoadModule authz_core_module $mods/mod_authz_core.so
	LoadModule mime_module $mods/mod_mime.so
	LoadModule cgid_module $mods/mod_cgid.so
	LoadModule actions_module $mods/mod_actions.so
	LoadModule alias_module $mods/mod_alias.so
	User www-data
	Group www-data
	ScriptSock "$dir/cgid.sock"
	TypesConfig /etc/mime.types
	DocumentRoot "$dir/www"
	<Directory "$dir/www">
	    Options +ExecCGI
	    AddHandler cgi-script .py
	    Require all granted
	</Directory>
	# The Action shape: .wsgi files handed to the copy in cgi-bin.
	ScriptAlias /cgi-bin/ "$dir/bin/"
	<Directory "$dir/bin">
	    Require all granted
	</Directory>
	<Directory "$dir/www/act">
	    AddHandler wsgi-script .wsgi
	    Action wsgi-script /cgi-bin/wsgi-cgi
	</Directory>
	CONF
	apache2 -DFOREGROUND -f "$dir/httpd.conf" >>"$dir/error.log" 2>&1 3>&- &
	echo $! >"$dir/apache.ppid"
	export APACHE_URL=http://127.0.0.1:$port
	wait_http "$APACHE_URL/"
}

apache_stop() {
	stop_pid "$1/apache.ppid"
}

# shebang_copy APP DEST: APP with a #! line naming the Apache copy.
shebang_copy() {
	{ echo "#!$DIR/bin/wsgi-cgi${3:+ $3}"; cat "$APPS/$1"; } >"$DIR/www/$2"
	chmod 755 "$DIR/www/$2"
}
