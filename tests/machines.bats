#!/usr/bin/env bats
# More than one machine: three hosts as network namespaces (ip netns, a
# veth pair each: 10.213.N.1 here, 10.213.N.2 in host N), one
# wsgi-cgi --listen 10.213.N.2:8000 --workers 2 in each, and nginx (an
# upstream of the three) or HAProxy (with health checks) in front on
# 127.0.0.1.  A client (tests/tools/balanced.py) sends GETs and POSTs over
# several connections, each response checked, while each host in turn is
# reloaded (SIGHUP), then stopped and started again (SIGTERM): no request
# fails; then one host is killed (SIGKILL, every process of it): no GET
# fails, since the balancer tries it on another host.  The README shows
# the two configurations.  As root (CI runs it so): the file makes the
# namespaces and removes them.
load helpers

NS=wsgi-cgi-h		# host N's namespace: wsgi-cgi-hN
VETH=wcgh		# and the interface here that reaches it: wcghN
HOSTS="1 2 3"
PORT=8000

setup_file() {
	local i
	[ "$(id -u)" -eq 0 ] || return 0
	hosts_remove
	for i in $HOSTS; do
		ip netns add "$NS$i"
		ip link add "$VETH$i" type veth peer name eth0 netns "$NS$i"
		ip addr add "10.213.$i.1/24" dev "$VETH$i"
		ip link set "$VETH$i" up
		ip -n "$NS$i" addr add "10.213.$i.2/24" dev eth0
		ip -n "$NS$i" link set eth0 up
		ip -n "$NS$i" link set lo up
	done
}

teardown_file() {
	[ "$(id -u)" -eq 0 ] || return 0
	hosts_remove
}

# hosts_remove: every host's processes, namespace and interface gone.
hosts_remove() {
	local i
	for i in $HOSTS; do
		ip netns pids "$NS$i" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$NS$i" 2>/dev/null || true
		ip link del "$VETH$i" 2>/dev/null || true
	done
}

setup() {
	local i
	[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
	DIR=$BATS_TEST_TMPDIR
	for i in $HOSTS; do
		host_start "$i"
	done
}

teardown() {
	local i
	[ "$(id -u)" -eq 0 ] || return 0
	touch "$DIR/stop"
	[ -z "${CLIENT:-}" ] || wait "$CLIENT" 2>/dev/null || true
	stop_pid "$DIR/balancer.pid"
	for i in $HOSTS; do
		ip netns pids "$NS$i" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
	done
}

# host_start N: host N's server, once it answers.
host_start() {
	ip netns exec "$NS$1" env HOST_NAME="h$1" "$WSGI_CGI" \
	    --listen "10.213.$1.2:$PORT" --workers 2 "$APPS/hosts.py" \
	    2>>"$DIR/h$1.log" 3>&- &
	echo $! >"$DIR/h$1.pid"
	wait_http "http://10.213.$1.2:$PORT/health" ||
	    fail "host $1 does not answer: $(cat "$DIR/h$1.log")"
}

# host_stop N: SIGTERM, and the server has ended (status 0).
host_stop() {
	local pid st
	pid=$(cat "$DIR/h$1.pid")
	kill -TERM "$pid"
	wait "$pid" && st=0 || st=$?
	[ "$st" -eq 0 ] || fail "host $1 ended with status $st"
}

# client_start: the client, through the balancer at 127.0.0.1:$LB_PORT.
client_start() {
	rm -f "$DIR/stop" "$DIR/progress"
	"$PYTHON3" "$TESTS/tools/balanced.py" "127.0.0.1:$LB_PORT" 8 \
	    "$DIR/progress" "$DIR/stop" >"$DIR/client.out" 2>&1 &
	CLIENT=$!
}

# answered [hN]: the requests the client has had answered (by host N).
answered() {
	local line w
	line=$(cat "$DIR/progress" 2>/dev/null) || line=0
	if [ -z "${1:-}" ]; then
		echo "${line%% *}"
		return
	fi
	for w in $line; do
		[ "${w%%=*}" = "$1" ] && echo "${w#*=}" && return
	done
	echo 0
}

# more N [hN]: the client has had N more requests answered (by host N),
# within 60 s.
more() {
	local from now i
	from=$(answered "${2:-}")
	for i in $(seq 1200); do
		now=$(answered "${2:-}")
		[ "$now" -ge $((from + $1)) ] && return 0
		kill -0 "$CLIENT" 2>/dev/null || fail "the client ended"
		sleep 0.05
	done
	fail "the client has $now requests answered${2:+ by $2}, not $((from + $1))"
}

# client_end: the client stopped; its summary line is in $output.
client_end() {
	local st
	touch "$DIR/stop"
	wait "$CLIENT" && st=0 || st=$?
	CLIENT=
	[ "$st" -eq 0 ] || fail "the client failed: $(cat "$DIR/client.out")"
	output=$(cat "$DIR/client.out")
	# What the client saw, as a TAP comment.
	sed 's/^/# /' "$DIR/client.out" >&3
}

# restarts: each host in turn reloaded, then each stopped and started
# again, requests answered all along; none fails, every host answers.
restarts() {
	local i
	client_start
	more 300
	for i in $HOSTS; do
		kill -HUP "$(cat "$DIR/h$i.pid")"
		more 300
	done
	# A rolling restart: the next host goes once the balancer sends
	# requests to the one restarted (nginx's fail_timeout has passed).
	for i in $HOSTS; do
		host_stop "$i"
		more 200
		host_start "$i"
		more 50 "h$i"
	done
	client_end
	assert_output --regexp '^requests [0-9]+ get-failed 0 post-failed 0 hosts h1=[1-9][0-9]* h2=[1-9][0-9]* h3=[1-9][0-9]*$'
}

# a_kill: host 2 killed (its every process, as a machine that fails),
# then started again: no GET fails (the balancer retries it elsewhere); a
# POST that host 2 had taken may (no balancer sends it twice).
a_kill() {
	client_start
	more 300
	ip netns pids "${NS}2" | xargs -r kill -9
	more 1000
	host_start 2
	more 50 h2
	client_end
	assert_output --regexp '(^|
)requests [0-9]+ get-failed 0 post-failed [0-9]+ hosts h1=[1-9][0-9]* h2=[1-9][0-9]* h3=[1-9][0-9]*$'
}

# nginx_up: nginx in front of the three hosts (the README's configuration).
nginx_up() {
	LB_PORT=$(free_port)
	mkdir -p "$DIR/nginx"
	cat >"$DIR/nginx/nginx.conf" <<-CONF
	user root root;
	worker_processes 1;
	daemon off;
	pid $DIR/nginx/nginx.pid;
	error_log $DIR/nginx.log warn;
	events { worker_connections 1024; }
	http {
	    access_log off;
	    client_body_temp_path $DIR/nginx/body;
	    proxy_temp_path $DIR/nginx/proxy;
	    upstream app {
	        server 10.213.1.2:$PORT max_fails=1 fail_timeout=1s;
	        server 10.213.2.2:$PORT max_fails=1 fail_timeout=1s;
	        server 10.213.3.2:$PORT max_fails=1 fail_timeout=1s;
	    }
	    server {
	        listen 127.0.0.1:$LB_PORT;
	        location / {
	            proxy_pass http://app;
	            proxy_set_header Host \$host;
	            proxy_set_header X-Forwarded-For \$remote_addr;
	            proxy_connect_timeout 1s;
	            proxy_next_upstream error timeout;
	        }
	    }
	}
	CONF
	nginx -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" 2>>"$DIR/nginx.log" 3>&- &
	echo $! >"$DIR/balancer.pid"
	wait_http "http://127.0.0.1:$LB_PORT/health" || fail "no nginx"
}

# haproxy_up: HAProxy in front of the three hosts, with health checks (the
# README's configuration).
haproxy_up() {
	LB_PORT=$(free_port)
	cat >"$DIR/haproxy.cfg" <<-CONF
	defaults
	    mode http
	    timeout connect 1s
	    timeout client 30s
	    timeout server 30s
	    option http-server-close
	    option forwardfor
	    retries 3
	    option redispatch 1
	    retry-on conn-failure empty-response
	frontend www
	    bind 127.0.0.1:$LB_PORT
	    default_backend app
	backend app
	    option httpchk GET /health
	    default-server check inter 500ms fall 1 rise 2
	    server h1 10.213.1.2:$PORT
	    server h2 10.213.2.2:$PORT
	    server h3 10.213.3.2:$PORT
	CONF
	haproxy -db -f "$DIR/haproxy.cfg" >>"$DIR/haproxy.log" 2>&1 3>&- &
	echo $! >"$DIR/balancer.pid"
	wait_http "http://127.0.0.1:$LB_PORT/health" || fail "no HAProxy"
}

@test "machines: behind nginx, each host reloaded, then stopped and started again: no request fails" {
	nginx_up
	restarts
}

@test "machines: behind nginx, a host killed: no GET fails" {
	nginx_up
	a_kill
}

@test "machines: behind HAProxy with health checks, each host reloaded, then stopped and started again: no request fails" {
	haproxy_up
	restarts
}

@test "machines: behind HAProxy with health checks, a host killed: no GET fails" {
	haproxy_up
	a_kill
}
