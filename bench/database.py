"""make bench, database: a Flask app that runs a query against PostgreSQL
(bench/db_app.py), served by wsgi-cgi --threads, gunicorn's gthread workers
and uWSGI's --threads, 2 processes x 8 threads each, HTTP/1.1 straight at
each, wrk -t1 -c32; the runs interleaved.

PostgreSQL (Debian's postgresql, psycopg2 from python3-psycopg2) runs in a
temporary directory, on a Unix socket there alone, as the postgres user
when this runs as root (initdb refuses root); it is removed at the end.

Usage: python3 bench/database.py WSGI_CGI [ROUNDS]
"""
import glob
import os
import pwd
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import origin           # noqa: E402  (wait_port)
import servers          # noqa: E402  (setup, stop, free_port)
import threads          # noqa: E402  (argv_of, wrk, PROCESSES, THREADS)

WORK = os.path.join(HERE, 'work', 'database')
ROWS = 10000


def postgres(log):
    """A PostgreSQL server with the items table; (process, its directory)."""
    bindir = sorted(glob.glob('/usr/lib/postgresql/*/bin'),
                    key=lambda d: int(d.split('/')[-2]))[-1]
    top = tempfile.mkdtemp(prefix='wsgi-cgi-pg.')
    as_user = {}
    if os.getuid() == 0:
        pw = pwd.getpwnam('postgres')
        os.chmod(top, 0o755)
        os.chown(top, pw.pw_uid, pw.pw_gid)
        as_user = dict(user=pw.pw_uid, group=pw.pw_gid, extra_groups=[])
    data = os.path.join(top, 'data')
    subprocess.run([os.path.join(bindir, 'initdb'), '-D', data, '-U',
                    'bench', '--auth=trust', '-E', 'UTF8', '--no-sync'],
                   stdout=log, stderr=log, check=True, cwd=top, **as_user)
    proc = subprocess.Popen([
        os.path.join(bindir, 'postgres'), '-D', data,
        '-c', 'listen_addresses=', '-c', 'unix_socket_directories=' + top,
        '-c', 'fsync=off', '-c', 'max_connections=100'],
        stdout=log, stderr=log, cwd=top, **as_user)
    sock = os.path.join(top, '.s.PGSQL.5432')
    for _ in range(200):
        if os.path.exists(sock) or proc.poll() is not None:
            break
        time.sleep(0.05)
    import psycopg2
    for _ in range(200):
        try:
            conn = psycopg2.connect(host=top, user='bench', dbname='postgres')
            break
        except psycopg2.OperationalError:
            if proc.poll() is not None:
                raise SystemExit('bench: postgres ended; see %s' % log.name)
            time.sleep(0.05)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('CREATE DATABASE bench')
    conn.close()
    conn = psycopg2.connect(host=top, user='bench', dbname='bench')
    with conn, conn.cursor() as cur:
        cur.execute('CREATE TABLE items (id integer PRIMARY KEY, name text, '
                    'price numeric(10, 2), stock integer)')
        cur.execute("INSERT INTO items SELECT i, 'item ' || i, i * 0.25, "
                    "i %% 97 FROM generate_series(1, %s) AS i", (ROWS,))
        cur.execute('ANALYZE items')
    conn.close()
    return proc, top


def main():
    wsgi_cgi = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    log = servers.setup(WORK, ('wrk', 'gunicorn', 'uwsgi'))
    pg, top = postgres(log)
    env = dict(os.environ, PGHOST=top)
    procs, cases = [], {}
    try:
        for server in ('wsgi-cgi', 'gunicorn', 'uWSGI'):
            port = servers.free_port()
            addr = '127.0.0.1:%d' % port
            p = subprocess.Popen(threads.argv_of(server, wsgi_cgi, addr,
                                                 'db_app', 'app'),
                                 stdout=log, stderr=log, env=env)
            procs.append(p)
            origin.wait_port(port, p, server)
            cases[server] = 'http://%s/' % addr
        for url in cases.values():                      # warm-up
            threads.wrk(url, 32)
        rps = {k: [] for k in cases}
        keys = list(cases)
        for r in range(rounds):
            for k in (keys if r % 2 == 0 else list(reversed(keys))):
                rps[k].append(threads.wrk(cases[k], 32))
    finally:
        servers.stop(procs)
        pg.send_signal(signal.SIGINT)       # its fast shutdown
        pg.wait(timeout=30)
        shutil.rmtree(top, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in rps.items()}
    text = '\n'.join([
        '', '## Database', '',
        'Flask, one PostgreSQL query a request (a row by its key, as JSON), '
        'HTTP/1.1 straight at each server, %s processes x %s threads '
        '(gunicorn: gthread; uWSGI: --threads, --http11-socket), '
        'wrk -t1 -c32, %d s a run, %d rounds interleaved.' % (
            threads.PROCESSES, threads.THREADS, threads.SECONDS, rounds), '',
        '| server | requests/s |', '|---|---:|'] +
        ['| %s | %.0f |' % (s, med[s]) for s in cases] + [
        '', '| ratio | value |', '|---|---:|'] +
        ['| wsgi-cgi / %s | %.2f |' % (s, med['wsgi-cgi'] / med[s])
         for s in ('gunicorn', 'uWSGI')]) + '\n'
    with open(os.path.join(HERE, 'results.md'), 'a') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
