"""make bench, server modes: through one lighttpd, wrk against the hello
world and the Flask app served persistently by wsgi-cgi (over uwsgi and
over FastCGI) and by uWSGI (Debian's uwsgi-core and uwsgi-plugin-python3,
over uwsgi), each with the same number of worker processes, the runs
interleaved round by round.  Prints requests/s, median latency and memory
per worker, and the ratios to uWSGI; appends them to bench/results.md.

Usage: python3 bench/servers.py WSGI_CGI [ROUNDS] [SECONDS]
"""
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, 'work', 'servers')
WORKERS = 2             # the machine's cores
CONNECTIONS = 16
THREADS = 2


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def setup(work, tools):
    """The tools a benchmark runs are there; work is made anew; the log
    its servers write to."""
    for tool in tools:
        if shutil.which(tool) is None:
            raise SystemExit('bench: %s is missing: ./install-deps bench'
                             % tool)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    return open(os.path.join(work, 'servers.log'), 'a')


def stop(procs):
    """SIGTERM to each, then each waited for (killed after 10 s)."""
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def wait_socket(path, proc, what):
    for _ in range(200):
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            raise SystemExit('bench: %s exited (status %d)'
                             % (what, proc.returncode))
        time.sleep(0.05)
    raise SystemExit('bench: %s did not start' % what)


def start_backends(wsgi_cgi):
    """wsgi-cgi and uWSGI, each serving hello and flask on a socket."""
    procs, log = {}, open(os.path.join(WORK, 'backends.log'), 'a')
    apps = {'hello': (os.path.join(HERE, 'hello.py'), 'application'),
            'flask': (os.path.join(HERE, 'flask_hello.py'), 'app')}
    for app, (script, callable_) in apps.items():
        sock = os.path.join(WORK, 'wsgi-cgi-%s.sock' % app)
        procs['wsgi-cgi', app] = subprocess.Popen(
            [wsgi_cgi, '--listen', sock, '--workers', str(WORKERS),
             '--callable', callable_, script],
            stdout=log, stderr=log)
        wait_socket(sock, procs['wsgi-cgi', app], 'wsgi-cgi ' + app)
        sock = os.path.join(WORK, 'uwsgi-%s.sock' % app)
        procs['uwsgi', app] = subprocess.Popen(
            ['uwsgi', '--plugin', 'python3', '--master', '--processes',
             str(WORKERS), '--socket', sock, '--wsgi-file', script,
             '--callable', callable_, '--die-on-term', '--disable-logging',
             '--pythonpath', HERE],
            stdout=log, stderr=log)
        wait_socket(sock, procs['uwsgi', app], 'uwsgi ' + app)
    return procs


def start_lighttpd():
    port = free_port()
    conf = os.path.join(WORK, 'lighttpd.conf')
    lines = [
        'server.document-root = "%s"' % WORK,
        'server.bind = "127.0.0.1"', 'server.port = %d' % port,
        'server.errorlog = "%s"' % os.path.join(WORK, 'lighttpd.log'),
        'server.modules = ( "mod_fastcgi", "mod_scgi" )',
        'server.max-connections = 1024',
    ]
    fcgi = []
    for app in ('hello', 'flask'):
        fcgi.append('"/wsgi-cgi-fastcgi/%s" => (( "socket" => "%s", '
                    '"check-local" => "disable" ))'
                    % (app, os.path.join(WORK, 'wsgi-cgi-%s.sock' % app)))
        for server in ('wsgi-cgi', 'uwsgi'):
            lines.append(
                '$HTTP["url"] =~ "^/%s-uwsgi/%s" { scgi.protocol = "uwsgi" '
                'scgi.server = ( "/%s-uwsgi/%s" => (( "socket" => "%s", '
                '"check-local" => "disable" )) ) }'
                % (server, app, server, app,
                   os.path.join(WORK, '%s-%s.sock' % (server, app))))
    lines.append('fastcgi.server = ( %s )' % ', '.join(fcgi))
    with open(conf, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    proc = subprocess.Popen(['lighttpd', '-D', '-f', conf],
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(('127.0.0.1', port)).close()
            return proc, 'http://127.0.0.1:%d' % port
        except OSError:
            time.sleep(0.05)
    raise SystemExit('bench: lighttpd did not start')


def wrk(url, seconds, closing=False):
    """(requests/s, median latency ms).  closing: the server closes each
    connection after its response (gunicorn's sync workers, uWSGI's
    http-socket), which wrk counts as read errors; those are allowed,
    nothing else (non-2xx, connect, write, timeout) is."""
    out = subprocess.run(
        ['wrk', '-t%d' % THREADS, '-c%d' % CONNECTIONS, '-d%ds' % seconds,
         '--latency', url], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    p50 = re.search(r'50%\s+([\d.]+)(us|ms|s)', out)
    scale = {'us': 0.001, 'ms': 1.0, 's': 1000.0}[p50.group(2)]
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    sock = re.search(r'Socket errors: connect (\d+), read (\d+), write '
                     r'(\d+), timeout (\d+)', out)
    if sock and closing:
        sock = any(int(x) for i, x in enumerate(sock.groups()) if i != 1)
    if errors or sock:
        raise SystemExit('bench: errors from %s:\n%s' % (url, out))
    return rps, float(p50.group(1)) * scale


def memory(pid):
    """The workers' (a master's children) mean RSS and PSS, in MiB."""
    kids = subprocess.run(['pgrep', '-P', str(pid)], capture_output=True,
                          text=True).stdout.split()
    rss, pss = [], []
    for k in kids:
        with open('/proc/%s/smaps_rollup' % k) as f:
            text = f.read()
        rss.append(int(re.search(r'^Rss:\s+(\d+)', text, re.M).group(1)))
        pss.append(int(re.search(r'^Pss:\s+(\d+)', text, re.M).group(1)))
    return statistics.mean(rss) / 1024, statistics.mean(pss) / 1024


def main():
    wsgi_cgi = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    setup(WORK, ('lighttpd', 'wrk', 'uwsgi')).close()
    procs = start_backends(wsgi_cgi)
    lighttpd, base = start_lighttpd()
    cases = [(app, label, '%s/%s/%s/' % (base, path, app), server)
             for app in ('hello', 'flask')
             for label, path, server in (
                 ('wsgi-cgi over uwsgi', 'wsgi-cgi-uwsgi', 'wsgi-cgi'),
                 ('wsgi-cgi over FastCGI', 'wsgi-cgi-fastcgi', 'wsgi-cgi'),
                 ('uWSGI over uwsgi', 'uwsgi-uwsgi', 'uwsgi'))]
    results = {c: [] for c in range(len(cases))}
    try:
        for _, _, url, _ in cases:              # warm-up
            wrk(url, 1)
        for r in range(rounds):
            order = list(range(len(cases)))
            if r % 2:
                order.reverse()
            for i in order:
                results[i].append(wrk(cases[i][2], seconds))
        mem = {(s, a): memory(procs[s, a].pid) for s, a in procs}
    finally:
        lighttpd.terminate()
        lighttpd.wait()
        stop(list(procs.values()))
    rows, ratios = [], []
    rps = {}
    for i, (app, label, _, server) in enumerate(cases):
        r = statistics.median(x[0] for x in results[i])
        lat = statistics.median(x[1] for x in results[i])
        rss, pss = mem[server, app]
        rps[app, label] = r
        rows.append('| %s | %s | %.0f | %.2f | %.1f | %.1f |'
                    % (app, label, r, lat, rss, pss))
    for app in ('hello', 'flask'):
        base_rps = rps[app, 'uWSGI over uwsgi']
        for label in ('wsgi-cgi over uwsgi', 'wsgi-cgi over FastCGI'):
            ratios.append('| %s | %s / uWSGI, requests/s | %.2f |'
                          % (app, label, rps[app, label] / base_rps))
        ratios.append('| %s | wsgi-cgi / uWSGI, RSS per worker | %.2f |'
                      % (app, mem['wsgi-cgi', app][0] / mem['uwsgi', app][0]))
        ratios.append('| %s | wsgi-cgi / uWSGI, PSS per worker | %.2f |'
                      % (app, mem['wsgi-cgi', app][1] / mem['uwsgi', app][1]))
    text = '\n'.join([
        '', '## Server modes', '',
        'Through one lighttpd (mod_scgi with scgi.protocol "uwsgi", and '
        'mod_fastcgi), `wrk -t%d -c%d --latency`, %d s a run, %d rounds '
        'interleaved; %d worker processes and a master each.'
        % (THREADS, CONNECTIONS, seconds, rounds, WORKERS), '',
        '| app | server | requests/s | median latency (ms) | '
        'RSS per worker (MiB) | PSS per worker (MiB) |',
        '|---|---|---:|---:|---:|---:|'] + rows + [
        '', '| app | ratio | value |', '|---|---|---:|'] + ratios) + '\n'
    with open(os.path.join(HERE, 'results.md'), 'a') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
