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

# The warm suite (WSGI_CGI_WARM=1, tests/run-tests --warm): every script
# runs with --warm (idle backends end after WARM_IDLE seconds), and
# cgi_run runs each case twice, so that the second is a warm backend's.
WARM_IDLE=10
# How many times cgi_run runs a case: a side effect of the app's (a line
# it appends to a file) happens once a run.
CGI_RUNS=1
[ -n "${WSGI_CGI_WARM:-}" ] && CGI_RUNS=2

# once_a_run LINE: LINE, once for each run of a cgi_run case.
once_a_run() {
	local i
	for i in $(seq "$CGI_RUNS"); do
		echo "$1"
	done
}

# cgi_run [NAME=value...] -- ARGS...: wsgi-cgi under env -i, so that the
# host environment never leaks in; stdin is $STDIN or /dev/null.
cgi_run() {
	local vars=() opts="--warm=$WARM_IDLE" tmp=/tmp
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		vars+=("$1")
		shift
	done
	shift
	if [ -z "${WSGI_CGI_WARM:-}" ]; then
		env -i "${vars[@]}" "$WSGI_CGI" "$@" <"${STDIN:-/dev/null}"
		return
	fi
	local i v all=()
	for v in "${vars[@]}"; do
		case $v in
		WSGI_CGI_OPTIONS=*) opts="$opts ${v#*=}" ;;
		TMPDIR=/*) tmp=${v#*=}; all+=("$v") ;;
		*) all+=("$v") ;;
		esac
	done
	all+=("WSGI_CGI_OPTIONS=$opts")
	env -i "${all[@]}" "$WSGI_CGI" "$@" <"${STDIN:-/dev/null}" \
	    >/dev/null 2>&1
	warm_settle "$tmp/wsgi-cgi-$(id -u)"
	env -i "${all[@]}" "$WSGI_CGI" "$@" <"${STDIN:-/dev/null}"
}

# warm_settle DIR: within 5 seconds no backend in DIR is starting (its lock
# held, its socket not there yet).  Held locks are read from /proc/locks,
# not tried one by one: DIR keeps a lock for every script ever run warm.
warm_settle() {
	local i dev
	dev=$(stat -c %d "$1" 2>/dev/null) || return 0
	for i in $(seq 50); do
		ls -i "$1" | awk -v dev="$dev" '
		    NR == FNR {
			# "1: FLOCK ADVISORY WRITE pid MAJOR:MINOR:INODE 0 EOF"
			if (match($0, /[0-9a-f]+:[0-9a-f]+:[0-9]+ /)) {
				split(substr($0, RSTART, RLENGTH - 1), d, ":")
				held[d[1] ":" d[2] ":" d[3]] = 1
			}
			next
		    }
		    /\.sock$/ { sock[substr($2, 1, length($2) - 5)] = 1 }
		    /^ *[0-9]+ warm-.*\.lock$/ {
			lock[substr($2, 1, length($2) - 5)] = $1
		    }
		    END {
			# st_dev as /proc/locks prints it (major:minor, hex).
			id = sprintf("%02x:%02x:", int(dev / 256) % 4096,
			    dev % 256 + int(dev / 1048576) * 256)
			for (k in lock)
				if (!(k in sock) && (id lock[k]) in held)
					exit 1
		    }' /proc/locks - && return 0
		sleep 0.1
	done
}

# warm_pid SCRIPT: the pid of SCRIPT's warm backend (empty: none).
warm_pid() {
	"$WSGI_CGI" --warm-status "$1" 2>/dev/null |
	    sed -n 's/.*: warm backend \([0-9]*\),.*/\1/p' | head -n 1
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

# raw BYTES [ARGS...]: what the HTTP server at $ADDR answers to BYTES
# (\r\n escapes), through tests/tools/httpraw.py.
raw() {
	"$PYTHON3" "$TESTS/tools/httpraw.py" "$ADDR" "$@"
}

# wait_for COMMAND...: until COMMAND succeeds, 10 seconds at most.
wait_for() {
	local i
	for i in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "still not so after 10 seconds: $*"
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
		[ -n "${WSGI_CGI_WARM:-}" ] && [[ "$*" != *WSGI_CGI_OPTIONS* ]] &&
		    echo "setenv.set-environment = ( \"WSGI_CGI_OPTIONS\" => \"--warm=$WARM_IDLE\" )"
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
	local dir=$1 mods=/usr/lib/apache2/modules
	mkdir -p "$dir/bin"
	cp "$WSGI_CGI" "$dir/bin/wsgi-cgi"
	chmod 755 "$dir" "$dir/bin" "$dir/www"
	apache_launch "$dir" "$dir" "$dir/error.log" <<-CONF
	LoadModule mime_module $mods/mod_mime.so
	LoadModule cgid_module $mods/mod_cgid.so
	LoadModule env_module $mods/mod_env.so
	${WSGI_CGI_WARM:+SetEnv WSGI_CGI_OPTIONS --warm=$WARM_IDLE}
	LoadModule actions_module $mods/mod_actions.so
	LoadModule alias_module $mods/mod_alias.so
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
}

# apache_launch DIR ROOT LOG: apache2 in the foreground on 127.0.0.1 and a
# free port, as www-data with mpm_event, its ServerRoot ROOT, its error log
# LOG, and the rest of its configuration from standard input; its pid in
# DIR/apache.ppid.  Sets APACHE_URL.
apache_launch() {
	local dir=$1 root=$2 log=$3 port mods=/usr/lib/apache2/modules
	port=$(free_port)
	{
		cat <<-CONF
		ServerRoot "$root"
		ServerName localhost
		Listen 127.0.0.1:$port
		PidFile "$root/httpd.pid"
		ErrorLog "$log"
		LogLevel warn
		LoadModule mpm_event_module $mods/mod_mpm_event.so
		LoadModule authz_core_module $mods/mod_authz_core.so
		User www-data
		Group www-data
		CONF
		cat
	} >"$root/httpd.conf"
	apache2 -DFOREGROUND -f "$root/httpd.conf" >>"$log" 2>&1 3>&- &
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

# gw PROTO ADDR [ARGS...]: one request as a web server sends it, through
# tests/tools/gwclient.py (see there); the response on stdout.
gw() {
	"$PYTHON3" "$TESTS/tools/gwclient.py" "$@"
}

# serve_start DIR ARGS...: wsgi-cgi --listen DIR/s.sock ARGS in the
# background, its stderr in DIR/server.log; waits until it answers in the
# first protocol it serves (the first --protocol, else FastCGI).  Sets
# SERVER_PID and SOCK.
serve_start() {
	local dir=$1 i a proto=
	shift
	SOCK=$dir/s.sock
	for a in "$@"; do
		case $proto in --protocol) proto=$a; break ;; esac
		case $a in
		--protocol=*) proto=${a#*=}; break ;;
		--protocol) proto=$a ;;
		esac
	done
	case $proto in ''|--protocol) proto=fastcgi ;; esac
	"$WSGI_CGI" --listen "$SOCK" "$@" 2>>"$dir/server.log" 3>&- &
	SERVER_PID=$!
	for i in $(seq 100); do
		if [ -S "$SOCK" ]; then
			if [ "$proto" = http ]; then
				curl -sf -o /dev/null --unix-socket "$SOCK" \
				    http://localhost/ && return 0
			else
				gw "$proto" "$SOCK" >/dev/null 2>&1 && return 0
			fi
		fi
		sleep 0.05
	done
	echo "the server did not start: $(cat "$dir/server.log")" >&2
	return 1
}

# wait_accepted PID N: within 10 seconds the server PID (and its workers)
# holds N connections it accepted: socket descriptors beyond each
# process's listening socket on fd 0.
wait_accepted() {
	local i n p
	for i in $(seq 100); do
		n=0
		for p in "$1" $(pgrep -P "$1"); do
			n=$((n + $(ls -l "/proc/$p/fd" 2>/dev/null |
			    grep -c ' -> socket:') - 1))
		done
		[ "$n" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "the server holds $n accepted connections, not $2"
}

# serve_stop: SIGTERM to the server, and wait for it.
serve_stop() {
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
}

# nginx_start DIR UPSTREAM: Debian's nginx in the foreground on 127.0.0.1
# and a free port, passing /fastcgi/, /scgi/ and /uwsgi/ to UPSTREAM
# (host:port or unix:path) with Debian's *_params files, as its
# documentation shows; SCRIPT_NAME and PATH_INFO set first (the first of a
# name is the one an application sees).  Sets NGINX_URL; its error log is DIR/nginx.log.
# With a third word, keep, nginx keeps its connections to UPSTREAM
# (keepalive, fastcgi_keep_conn), a pool of them for each protocol.
nginx_start() {
	local dir=$1 up=$2 port keep= p fup sup uup
	port=$(free_port)
	fup=$up sup=$up uup=$up
	if [ "${3:-}" = keep ]; then
		for p in fastcgi scgi uwsgi http; do
			keep="$keep upstream $p { server $up; keepalive 16; }"
		done
		fup=fastcgi sup=scgi uup=uwsgi up=http
	fi
	mkdir -p "$dir/nginx"
	cat >"$dir/nginx/nginx.conf" <<-CONF
	$( [ "$(id -u)" -eq 0 ] && echo 'user root root;' )
	worker_processes 1;
	daemon off;
	pid $dir/nginx/nginx.pid;
	error_log $dir/nginx.log warn;
	events { worker_connections 256; }
	http {
	    access_log off;
	    client_body_temp_path $dir/nginx/body;
	    fastcgi_temp_path $dir/nginx/fastcgi;
	    scgi_temp_path $dir/nginx/scgi;
	    uwsgi_temp_path $dir/nginx/uwsgi;
	    proxy_temp_path $dir/nginx/proxy;
	    client_max_body_size 100m;
	    $keep
	    server {
	        listen 127.0.0.1:$port;
	        location ~ ^/fastcgi(/.*)\$ {
	            fastcgi_param SCRIPT_NAME /fastcgi;
	            fastcgi_param PATH_INFO \$1;
	            include /etc/nginx/fastcgi_params;
	            $([ -n "$keep" ] && echo 'fastcgi_keep_conn on;')
	            fastcgi_pass $fup;
	        }
	        location ~ ^/scgi(/.*)\$ {
	            scgi_param SCRIPT_NAME /scgi;
	            scgi_param PATH_INFO \$1;
	            include /etc/nginx/scgi_params;
	            scgi_pass $sup;
	        }
	        location ~ ^/uwsgi(/.*)\$ {
	            uwsgi_param SCRIPT_NAME /uwsgi;
	            uwsgi_param PATH_INFO \$1;
	            include /etc/nginx/uwsgi_params;
	            uwsgi_pass $uup;
	        }
	        # HTTP/1.1 to the origin, connections kept.
	        location /http/ {
	            proxy_pass http://$([ "${up#unix:}" != "$up" ] && echo "$up:")$([ "${up#unix:}" = "$up" ] && echo "$up")/;
	            proxy_http_version 1.1;
	            proxy_set_header Connection "";
	            proxy_request_buffering off;
	            proxy_buffering off;
	        }
	    }
	}
	CONF
	nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" 2>>"$dir/nginx.log" 3>&- &
	echo $! >"$dir/nginx.ppid"
	export NGINX_URL=http://127.0.0.1:$port
	wait_http "$NGINX_URL/"
}

nginx_stop() {
	stop_pid "$1/nginx.ppid"
}

# apache_proxy_start DIR HOST:PORT: Debian's apache2 (mpm_event) on a free
# port, passing /fastcgi/, /scgi/ and /uwsgi/ to HOST:PORT with
# mod_proxy_fcgi, mod_proxy_scgi and mod_proxy_uwsgi.  Sets APACHE_URL.
apache_proxy_start() {
	local dir=$1 up=$2 mods=/usr/lib/apache2/modules
	mkdir -p "$dir/apache"
	apache_launch "$dir" "$dir/apache" "$dir/apache.log" <<-CONF
	LoadModule proxy_module $mods/mod_proxy.so
	LoadModule proxy_fcgi_module $mods/mod_proxy_fcgi.so
	LoadModule proxy_scgi_module $mods/mod_proxy_scgi.so
	LoadModule proxy_uwsgi_module $mods/mod_proxy_uwsgi.so
	LoadModule proxy_http_module $mods/mod_proxy_http.so
	LoadModule setenvif_module $mods/mod_setenvif.so
	# PATH_INFO: the path after the prefix, as the other servers send it
	# (set before the proxy modules read it: SetEnvIf, not SetEnv).
	SetEnvIf Request_URI ^/fastcgi/ proxy-fcgi-pathinfo=unescape
	SetEnvIf Request_URI ^/scgi/ proxy-scgi-pathinfo
	ProxyPass /fastcgi/ fcgi://$up/
	ProxyPass /scgi/ scgi://$up/
	ProxyPass /uwsgi/ uwsgi://$up/
	ProxyPass /http/ http://$up/
	CONF
}

# wait_count N PATTERN FILE: within 5 seconds FILE has N lines that match
# PATTERN (a web server may log a FastCGI backend's stderr records after
# it has answered the client).
wait_count() {
	local i n
	for i in $(seq 50); do
		n=$(grep -c -- "$2" "$3") || true
		[ "$n" -eq "$1" ] && return 0
		sleep 0.1
	done
	fail "$3 has $n lines matching $2, not $1"
}
