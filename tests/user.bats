#!/usr/bin/env bats
# --user USER[:GROUP]: started as root, wsgi-cgi binds (a port below 1024,
# a Unix socket), then takes USER's uid, gid and groups before the
# application is loaded, in every worker and across a reload.  A user and
# a group made by this file (as root; skipped otherwise).
load helpers

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "--user needs root"
	export TUSER=wsgicgi-t$$ TGROUP=wsgicgi-g$$
	groupadd --system "$TGROUP"
	useradd --system --no-create-home --shell /usr/sbin/nologin \
	    --user-group "$TUSER"
	usermod -a -G "$TGROUP" "$TUSER"
	# Where USER can read the script: the bats directories are root's.
	FILE_DIR=$(mktemp -d /tmp/wsgi-cgi-user.XXXXXX)
	export FILE_DIR
	chmod 755 "$FILE_DIR"
	cp "$APPS/who.py" "$FILE_DIR/who.py"
	chmod 644 "$FILE_DIR/who.py"
}

teardown_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	userdel "$TUSER" 2>/dev/null || true
	groupdel "$TGROUP" 2>/dev/null || true
	rm -rf "${FILE_DIR:?}"
}

setup() {
	[ "$(id -u)" -eq 0 ] || skip "--user needs root"
	DIR=$BATS_TEST_TMPDIR
	chmod 755 "$DIR"
}

# A test's server, stopped even when it fails (else its user stays).
teardown() {
	local p
	for p in ${OWN_PID:-} ${SERVER_PID:-}; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# low_port: a free TCP port below 1024 on 127.0.0.1.
low_port() {
	"$PYTHON3" -c 'import random, socket
for p in random.sample(range(600, 1024), 424):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    s.close()
    print(p)
    break'
}

@test "user: root binds a port below 1024, then every worker runs as USER with USER's groups, across a reload" {
	local port want
	port=$(low_port)
	want="$(id -u "$TUSER") $(id -g "$TUSER") $(id -G "$TUSER" | tr ' ' '\n' | sort -n | paste -sd,) $(id -u "$TUSER")"
	"$WSGI_CGI" --listen "127.0.0.1:$port" --user "$TUSER" --workers 3 \
	    "$FILE_DIR/who.py" 2>"$DIR/server.log" 3>&- &
	OWN_PID=$!
	wait_http "http://127.0.0.1:$port/"
	run "$PYTHON3" -c 'import sys, urllib.request
print("\n".join(sorted({urllib.request.urlopen(sys.argv[1]).read().decode().strip()
    for _ in range(30)})))' "http://127.0.0.1:$port/"
	assert_success
	assert_output "$want"
	run ps -o user= --ppid "$OWN_PID" -p "$OWN_PID"
	assert_success
	assert_output "$(printf '%s\n%s\n%s\n%s' "$TUSER" "$TUSER" "$TUSER" "$TUSER")"
	# SIGHUP: the master, now USER, executes itself again with --user.
	kill -HUP "$OWN_PID"
	run "$PYTHON3" -c 'import sys, urllib.request
print("\n".join(sorted({urllib.request.urlopen(sys.argv[1]).read().decode().strip()
    for _ in range(30)})))' "http://127.0.0.1:$port/"
	assert_success
	assert_output "$want"
	run cat "$DIR/server.log"
	assert_output ''
}

@test "user: USER:GROUP gives GROUP's gid; a Unix socket made as root is USER's" {
	local gid
	gid=$(getent group "$TGROUP" | cut -d: -f3)
	serve_start "$DIR" --protocol http --user "$TUSER:$TGROUP" "$FILE_DIR/who.py"
	OWN_PID=$SERVER_PID
	run curl -sS --unix-socket "$SOCK" http://x/
	assert_success
	assert_output --regexp "^$(id -u "$TUSER") $gid "
	run stat -c '%U %G' "$SOCK"
	assert_success
	assert_output "$TUSER $TGROUP"
}

@test "user: an unknown user or group, or --user when not root, is a usage error" {
	run "$WSGI_CGI" --listen "$DIR/s.sock" --user no-such-user-here "$FILE_DIR/who.py"
	assert_failure 2
	assert_output 'wsgi-cgi: --user no-such-user-here: no user no-such-user-here'
	run "$WSGI_CGI" --listen "$DIR/s.sock" --user "$TUSER:no-such-group" "$FILE_DIR/who.py"
	assert_failure 2
	assert_output "wsgi-cgi: --user $TUSER:no-such-group: no group no-such-group"
	run setpriv --reuid "$TUSER" --regid "$TUSER" --clear-groups \
	    "$WSGI_CGI" --listen "$DIR/s.sock" --user root "$FILE_DIR/who.py"
	assert_failure 2
	assert_output 'wsgi-cgi: --user root: only root can change its user'
	[ ! -e "$DIR/s.sock" ]
}

@test "user: root without --user is told once, not at each reload" {
	local port
	port=$(free_port)
	"$WSGI_CGI" --listen "127.0.0.1:$port" "$FILE_DIR/who.py" \
	    2>"$DIR/server.log" 3>&- &
	OWN_PID=$!
	wait_http "http://127.0.0.1:$port/"
	run curl -sS "http://127.0.0.1:$port/"
	assert_success
	assert_output --regexp '^0 0 '
	kill -HUP "$OWN_PID"
	run "$PYTHON3" -c 'import sys, urllib.request
for _ in range(20):
    urllib.request.urlopen(sys.argv[1]).read()' "http://127.0.0.1:$port/"
	assert_success
	run cat "$DIR/server.log"
	assert_output 'wsgi-cgi: the application runs as root: --user USER runs it as USER once the socket is bound'
}
