"""make bench, threads: wsgi-cgi --threads against gunicorn's gthread
workers and uWSGI's --threads, HTTP/1.1 straight at each, 2 processes x 8
threads each, the runs interleaved round by round:

- waiting: a request that waits 50 ms on a socket read from an upstream
  this script starts (bench/upstream.py), wrk -t1 -c32; the ideal is 16
  requests per 50 ms, 320/s; also through lighttpd over uwsgi (mod_scgi)
  to wsgi-cgi and to uWSGI on Unix sockets;
- mixed: a Flask request that waits 5 ms on it and renders a small JSON
  document, wrk -t1 -c64;
- CPU-bound: the hello world and Flask's with --threads 8 against
  --threads 1 (threads must not cost the case that does not need them).

Prints requests/s, the ratios and each server's resident memory per
worker; appends them to bench/results.md.

Usage: python3 bench/threads.py WSGI_CGI [ROUNDS]
"""
import os
import re
import socket
import time
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import origin           # noqa: E402  (wait_port)
import servers          # noqa: E402  (free_port, memory, wrk)

WORK = os.path.join(HERE, 'work', 'threads')
SECONDS = 5
PROCESSES, THREADS = '2', '8'
IDEAL = 16 / 0.05


def wrk(url, connections):
    out = subprocess.run(
        ['wrk', '-t1', '-c%d' % connections, '-d%ds' % SECONDS, url],
        capture_output=True, text=True, check=True).stdout
    if re.search(r'Non-2xx|Socket errors', out):
        raise SystemExit('bench: errors from %s:\n%s' % (url, out))
    return float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))


def argv_of(server, wsgi_cgi, addr, module, call, threads=THREADS):
    script = os.path.join(HERE, module + '.py')
    if server == 'wsgi-cgi':
        return [wsgi_cgi, '--listen', addr, '--workers', PROCESSES,
                '--threads', threads, '--callable', call, script]
    if server == 'gunicorn':
        return ['gunicorn', '--chdir', HERE, '-w', PROCESSES, '--threads',
                threads, '-k', 'gthread', '-b', addr,
                '%s:%s' % (module, call)]
    return ['uwsgi', '--plugin', 'python3', '--master', '--processes',
            PROCESSES, '--threads', threads, '--http11-socket', addr,
            '--wsgi-file', script, '--callable', call, '--die-on-term',
            '--disable-logging', '--pythonpath', HERE]


def behind_lighttpd(wsgi_cgi, env, log, procs):
    """wsgi-cgi and uWSGI serving the waiting app over uwsgi on Unix
    sockets, one lighttpd in front; {server: url}."""
    script = os.path.join(HERE, 'wait_app.py')
    socks = {s: os.path.join(WORK, '%s.sock' % s)
             for s in ('wsgi-cgi', 'uWSGI')}
    procs.append(subprocess.Popen(
        [wsgi_cgi, '--listen', socks['wsgi-cgi'], '--workers', PROCESSES,
         '--threads', THREADS, script], stdout=log, stderr=log, env=env))
    servers.wait_socket(socks['wsgi-cgi'], procs[-1], 'wsgi-cgi')
    procs.append(subprocess.Popen(
        ['uwsgi', '--plugin', 'python3', '--master', '--processes',
         PROCESSES, '--threads', THREADS, '--socket', socks['uWSGI'],
         '--wsgi-file', script, '--die-on-term', '--disable-logging',
         '--pythonpath', HERE], stdout=log, stderr=log, env=env))
    servers.wait_socket(socks['uWSGI'], procs[-1], 'uWSGI')
    port = servers.free_port()
    conf = os.path.join(WORK, 'lighttpd.conf')
    with open(conf, 'w') as f:
        f.write('\n'.join([
            'server.document-root = "%s"' % WORK,
            'server.bind = "127.0.0.1"', 'server.port = %d' % port,
            'server.errorlog = "%s"' % os.path.join(WORK, 'lighttpd.log'),
            'server.modules = ( "mod_scgi" )',
            'server.max-connections = 1024', 'scgi.protocol = "uwsgi"',
            'scgi.server = ( %s )' % ', '.join(
                '"/%s" => (( "socket" => "%s", "check-local" => "disable" ))'
                % (s, path) for s, path in socks.items())]) + '\n')
    procs.append(subprocess.Popen(['lighttpd', '-D', '-f', conf],
                                  stderr=subprocess.DEVNULL))
    for _ in range(100):
        try:
            socket.create_connection(('127.0.0.1', port)).close()
            break
        except OSError:
            time.sleep(0.05)
    return {s: 'http://127.0.0.1:%d/%s/' % (port, s) for s in socks}


def main():
    wsgi_cgi = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    log = servers.setup(WORK, ('wrk', 'gunicorn', 'uwsgi', 'lighttpd'))
    up_port = servers.free_port()
    env = dict(os.environ, UPSTREAM_PORT=str(up_port))
    procs = [subprocess.Popen([sys.executable,
                               os.path.join(HERE, 'upstream.py'),
                               str(up_port)], stdout=log, stderr=log)]
    origin.wait_port(up_port, procs[0], 'the upstream')
    # (case, server) -> (url, connections, pid)
    cases = {}
    plan = [('waiting', s, 'wait_app', 'application', THREADS, 32)
            for s in ('wsgi-cgi', 'gunicorn', 'uWSGI')]
    plan += [('mixed', s, 'wait_app', 'flask_app', THREADS, 64)
             for s in ('wsgi-cgi', 'gunicorn', 'uWSGI')]
    plan += [('%s cpu' % app, 'wsgi-cgi --threads %s' % t, module, call, t,
              16) for app, module, call in (
                  ('hello', 'hello', 'application'),
                  ('flask', 'flask_hello', 'app')) for t in ('1', THREADS)]
    try:
        for case, server, module, call, threads, conns in plan:
            port = servers.free_port()
            addr = '127.0.0.1:%d' % port
            p = subprocess.Popen(argv_of(server.split()[0], wsgi_cgi, addr,
                                         module, call, threads),
                                 stdout=log, stderr=log, env=env)
            procs.append(p)
            origin.wait_port(port, p, server)
            cases[case, server] = ('http://%s/' % addr, conns, p.pid)
        for server, url in behind_lighttpd(wsgi_cgi, env, log,
                                           procs).items():
            cases['waiting via lighttpd', server] = (url, 32, None)
        for url, conns, _ in cases.values():           # warm-up
            wrk(url, conns)
        rps = {k: [] for k in cases}
        keys = list(cases)
        for r in range(rounds):
            for k in (keys if r % 2 == 0 else list(reversed(keys))):
                rps[k].append(wrk(cases[k][0], cases[k][1]))
        rss = {k: servers.memory(cases[k][2])[0] for k in cases
               if k[0] == 'waiting'}
    finally:
        servers.stop(procs)
    med = {k: statistics.median(v) for k, v in rps.items()}
    rows = ['| %s | %s | %.0f |' % (c, s, med[c, s]) for c, s in cases]
    ratios = ['| %s | wsgi-cgi / ideal (%d/s) | %.2f |'
              % (case, IDEAL, med[case, 'wsgi-cgi'] / IDEAL)
              for case in ('waiting', 'waiting via lighttpd')]
    ratios.append('| waiting via lighttpd | wsgi-cgi / uWSGI | %.2f |' % (
        med['waiting via lighttpd', 'wsgi-cgi'] /
        med['waiting via lighttpd', 'uWSGI']))
    for case in ('waiting', 'mixed'):
        for peer in ('gunicorn', 'uWSGI'):
            ratios.append('| %s | wsgi-cgi / %s | %.2f |' % (
                case, peer, med[case, 'wsgi-cgi'] / med[case, peer]))
    for app in ('hello', 'flask'):
        ratios.append('| %s cpu | --threads %s / --threads 1 | %.2f |' % (
            app, THREADS, med['%s cpu' % app, 'wsgi-cgi --threads ' +
                              THREADS] /
            med['%s cpu' % app, 'wsgi-cgi --threads 1']))
    mem = ['| %s | %.1f |' % (s, rss['waiting', s])
           for s in ('wsgi-cgi', 'gunicorn', 'uWSGI')]
    text = '\n'.join([
        '', '## Threads', '',
        'HTTP/1.1 straight at each server, %s processes x %s threads '
        '(gunicorn: gthread; uWSGI: --threads, --http11-socket); waiting: '
        'a 50 ms read from an upstream, wrk -t1 -c32, also through lighttpd '
        'over uwsgi (mod_scgi) to wsgi-cgi and uWSGI on Unix sockets; '
        'mixed: Flask, a 5 ms '
        'read and a JSON document, wrk -t1 -c64; cpu: wrk -t1 -c16; '
        '%d s a run, %d rounds interleaved.' % (PROCESSES, THREADS,
                                                SECONDS, rounds), '',
        '| case | server | requests/s |', '|---|---|---:|'] + rows + [
        '', '| case | ratio | value |', '|---|---|---:|'] + ratios + [
        '', '| server | RSS per worker, MiB (waiting) |', '|---|---:|'] +
        mem) + '\n'
    with open(os.path.join(HERE, 'results.md'), 'a') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
