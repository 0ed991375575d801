"""make bench, HTTP/1.1: wrk straight at wsgi-cgi --listen HOST:PORT, at
gunicorn (Debian's, sync workers) and at uwsgi --http-socket and
--http11-socket (connections kept), each with
the same number of worker processes, the hello world and the Flask app,
the runs interleaved round by round.  Prints requests/s and the ratios;
appends them to bench/results.md.

Usage: python3 bench/origin.py WSGI_CGI [ROUNDS]
"""
import os
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import servers          # noqa: E402  (wrk, free_port, WORKERS)

WORK = os.path.join(HERE, 'work', 'http')
SECONDS = 5


def wait_port(port, proc, what):
    for _ in range(200):
        try:
            socket.create_connection(('127.0.0.1', port)).close()
            return
        except OSError:
            if proc.poll() is not None:
                raise SystemExit('bench: %s exited' % what)
            time.sleep(0.05)
    raise SystemExit('bench: %s did not start' % what)


def main():
    wsgi_cgi = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    log = servers.setup(WORK, ('wrk', 'gunicorn', 'uwsgi'))
    apps = {'hello': ('hello', 'application'), 'flask': ('flask_hello', 'app')}
    procs, urls = [], {}
    w = str(servers.WORKERS)
    try:
        for app, (mod, call) in apps.items():
            script = os.path.join(HERE, mod + '.py')
            for server in ('wsgi-cgi', 'gunicorn', 'uWSGI',
                           'uWSGI keep-alive'):
                # uWSGI keeps a connection even when a response has no
                # length (hello.py's): the client then waits for ever.
                if server == 'uWSGI keep-alive' and app == 'hello':
                    continue
                port = servers.free_port()
                addr = '127.0.0.1:%d' % port
                if server == 'wsgi-cgi':
                    argv = [wsgi_cgi, '--listen', addr, '--workers', w,
                            '--callable', call, script]
                elif server == 'gunicorn':
                    argv = ['gunicorn', '--chdir', HERE, '-w', w, '-k',
                            'sync', '-b', addr, '%s:%s' % (mod, call)]
                else:
                    # --http-socket closes after each response;
                    # --http11-socket keeps connections.
                    sock = ('--http11-socket' if 'keep' in server else
                            '--http-socket')
                    argv = ['uwsgi', '--plugin', 'python3', '--master',
                            '--processes', w, sock, addr,
                            '--wsgi-file', script, '--callable', call,
                            '--die-on-term', '--disable-logging',
                            '--pythonpath', HERE]
                p = subprocess.Popen(argv, stdout=log, stderr=log)
                procs.append(p)
                wait_port(port, p, server)
                urls[app, server] = 'http://%s/' % addr
        for (_, server), url in urls.items():
            servers.wrk(url, 1, closing=server in ('gunicorn', 'uWSGI'))
        rps = {k: [] for k in urls}
        keys = list(urls)
        for r in range(rounds):
            order = keys if r % 2 == 0 else list(reversed(keys))
            for k in order:
                rps[k].append(servers.wrk(
                    urls[k], SECONDS,
                    closing=k[1] in ('gunicorn', 'uWSGI'))[0])
    finally:
        servers.stop(procs)
    med = {k: statistics.median(v) for k, v in rps.items()}
    rows = ['| %s | %s | %.0f |' % (app, server, med[app, server])
            for app, server in urls]
    ratios = []
    for app in apps:
        for peer in ('gunicorn', 'uWSGI', 'uWSGI keep-alive'):
            if (app, peer) not in med:
                continue
            ratios.append('| %s | wsgi-cgi / %s | %.2f |'
                          % (app, peer, med[app, 'wsgi-cgi'] /
                             med[app, peer]))
    text = '\n'.join([
        '', '## HTTP/1.1', '',
        'wrk -t%d -c%d straight at each server, %d s a run, %d rounds '
        'interleaved; %s worker processes each (gunicorn: sync workers, '
        'which close each connection; uWSGI: --http-socket, which closes '
        'too, and --http11-socket, which keeps them, with a master).'
        % (servers.THREADS, servers.CONNECTIONS, SECONDS, rounds, w), '',
        '| app | server | requests/s |', '|---|---|---:|'] + rows + [
        '', '| app | ratio | value |', '|---|---|---:|'] + ratios) + '\n'
    with open(os.path.join(HERE, 'results.md'), 'a') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
