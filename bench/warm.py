"""make bench, warm start: a C hello-world CGI program against the hello
and Flask scripts under wsgi-cgi cold, --warm and --warm-app; first run
directly (as a server runs a CGI program: stdout drained, until exit),
the commands alternating round by round; then through lighttpd's mod_cgi
with wrk, with the machine's CPU time per request.  Prints medians,
requests/s, the ratios to the C program and the backends' memory; and the
floor of a fork per request (bench/fork_floor.c: a process of the Flask
backend's size forking children that write as many pages as its spare
copied, no Python at all), with the requests/s it leaves through
lighttpd.  Appends them to bench/results.md.

Usage: python3 bench/warm.py WSGI_CGI [ROUNDS] [SECONDS]
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as direct    # noqa: E402  (run_once, cgi_env)
import servers          # noqa: E402  (wrk, free_port)

WORK = os.path.join(HERE, 'work', 'warm')
IDLE = 600
PAUSE = 0.02    # s: a request to a machine at rest (the second series)
FLOOR = os.path.join(WORK, 'fork_floor')


def status(wsgi_cgi, script):
    """The requests that the script's warm backends served, summed."""
    out = subprocess.run([wsgi_cgi, '--warm-status', script],
                         capture_output=True, text=True).stdout
    return sum(int(n) for n in re.findall(r', (\d+) requests,', out))


def backends(wsgi_cgi, script):
    """The pids of the script's warm backends."""
    out = subprocess.run([wsgi_cgi, '--warm-status', script],
                         capture_output=True, text=True).stdout
    return re.findall(r'warm backend (\d+),', out)


def kib(pid, field):
    """A field of a process's /proc smaps_rollup, in KiB."""
    with open('/proc/%s/smaps_rollup' % pid) as f:
        return int(re.search(r'^%s:\s+(\d+)' % field, f.read(),
                             re.M).group(1))


def backend_memory(wsgi_cgi, script):
    """RSS and PSS (MiB) of the script's warm backends, largest first."""
    res = [(kib(pid, 'Rss') / 1024, kib(pid, 'Pss') / 1024)
           for pid in backends(wsgi_cgi, script)]
    return max(res) if res else (0.0, 0.0)


def cpu_busy():
    """Seconds of CPU time the whole machine has spent, all CPUs."""
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user, nice, system, irq, softirq: not idle, iowait or steal.
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / os.sysconf('SC_CLK_TCK')


def wrk_cpu(url, seconds):
    """(requests/s, the machine's CPU ms per request, wrk included)."""
    busy = cpu_busy()
    rps = servers.wrk(url, seconds)[0]
    return rps, (cpu_busy() - busy) * 1000 / (rps * seconds)


def fork_floor(wsgi_cgi, script):
    """(anonymous KiB, pages, CPU ms per fork): the script's backend's
    size, the pages its spare copied ahead, and what fork_floor takes
    for them (median of 5 runs of 400 forks); None without a backend and
    its spare to read them from."""
    pids = backends(wsgi_cgi, script)
    if not pids:
        return None
    spares = subprocess.run(['pgrep', '-P', pids[0]],
                            capture_output=True, text=True).stdout.split()
    anon = kib(pids[0], 'Anonymous')
    pages = (max([kib(c, 'Private_Dirty') for c in spares] or [0]) * 1024 //
             os.sysconf('SC_PAGE_SIZE'))
    if pages == 0:
        return None
    runs = [int(subprocess.run([FLOOR, str(anon), str(pages), '400'],
                               capture_output=True, text=True,
                               check=True).stdout)
            for _ in range(5)]
    return anon, pages, statistics.median(runs) / 1000


def setup(wsgi_cgi):
    shutil.rmtree(WORK, ignore_errors=True)
    www = os.path.join(WORK, 'www')
    for d in ('c', 'cold', 'warm', 'app'):
        os.makedirs(os.path.join(www, d))
    hello_c = os.path.join(www, 'c', 'hello.cgi')
    subprocess.run(['cc', '-O2', '-o', hello_c, os.path.join(HERE, 'hello.c')],
                   check=True)
    subprocess.run(['cc', '-O2', '-D_DEFAULT_SOURCE', '-o', FLOOR,
                    os.path.join(HERE, 'fork_floor.c')], check=True)
    for d in ('cold', 'warm', 'app'):
        for name in ('hello.py', 'flask_hello.py'):
            shutil.copy(os.path.join(HERE, name), os.path.join(www, d, name))
    # Older than the 2 seconds a backend does not trust.
    old = time.time() - 60
    for d in ('cold', 'warm', 'app'):
        for name in ('hello.py', 'flask_hello.py'):
            os.utime(os.path.join(www, d, name), (old, old))
    time.sleep(2.1)
    return www, hello_c


def direct_cases(wsgi_cgi, www, hello_c):
    opts = {'cold': None, 'warm': '--warm=%d' % IDLE, 'app': '--warm-app'}
    cases = [('C hello CGI', [hello_c], {}, None)]
    for app, script, extra in (('hello', 'hello.py', []),
                               ('flask', 'flask_hello.py',
                                ['--callable app'])):
        for d in ('cold', 'warm', 'app'):
            path = os.path.join(www, d, script)
            env = direct.cgi_env(path)
            if opts[d]:
                env['WSGI_CGI_OPTIONS'] = opts[d]
            cases.append(('%s %s' % (app, d), [wsgi_cgi] + extra + [path],
                          env, path))
    return cases


def lighttpd(www, wsgi_cgi):
    port = servers.free_port()
    conf = os.path.join(WORK, 'lighttpd.conf')
    lines = [
        'server.document-root = "%s"' % www,
        'server.bind = "127.0.0.1"', 'server.port = %d' % port,
        'server.errorlog = "%s"' % os.path.join(WORK, 'lighttpd.log'),
        'server.modules = ( "mod_setenv", "mod_cgi" )',
        'server.max-connections = 1024',
        'cgi.assign = ( ".py" => "%s", ".cgi" => "" )' % wsgi_cgi,
        '$HTTP["url"] =~ "^/warm/" { setenv.set-environment = '
        '( "WSGI_CGI_OPTIONS" => "--warm=%d" ) }' % IDLE,
        '$HTTP["url"] =~ "^/app/" { setenv.set-environment = '
        '( "WSGI_CGI_OPTIONS" => "--warm-app" ) }',
    ]
    with open(conf, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    proc = subprocess.Popen(['lighttpd', '-D', '-f', conf],
                            stderr=subprocess.DEVNULL)
    url = 'http://127.0.0.1:%d' % port
    for _ in range(100):
        try:
            subprocess.run(['curl', '-sf', url + '/c/hello.cgi'],
                           capture_output=True, check=True)
            return proc, url
        except subprocess.CalledProcessError:
            time.sleep(0.05)
    raise SystemExit('bench: lighttpd did not start')


def main():
    wsgi_cgi = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    wrk_rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    seconds = 5
    for tool in ('lighttpd', 'wrk', 'cc', 'curl'):
        if shutil.which(tool) is None:
            raise SystemExit('bench: %s is missing: ./install-deps bench'
                             % tool)
    www, hello_c = setup(wsgi_cgi)
    cases = direct_cases(wsgi_cgi, www, hello_c)
    for _, argv, env, _ in cases:       # warm-up: the backends start
        direct.run_once(argv, env, None)
    time.sleep(1.5)
    for _, argv, env, _ in cases:
        for _ in range(5):
            direct.run_once(argv, env, None)
    served0 = {c[0]: status(wsgi_cgi, c[3]) for c in cases if c[3]}
    # Back to back: each run also meets what the one before left to do
    # (a warm backend's next spare, a child's exit); then each after a
    # pause, as a request comes to a server at rest.
    times = {c[0]: [] for c in cases}
    rested = {c[0]: [] for c in cases}
    for series, pause in ((times, 0), (rested, PAUSE)):
        for r in range(rounds):
            order = list(range(len(cases)))
            if r % 2:
                order.reverse()
            for i in order:
                label, argv, env, _ = cases[i]
                if label.endswith('cold') and r >= max(rounds // 4, 5):
                    continue        # 100+ ms each: fewer rounds
                time.sleep(pause)
                series[label].append(direct.run_once(argv, env, None))
    warm_served = {c[0]: status(wsgi_cgi, c[3]) - served0[c[0]]
                   for c in cases if c[3] and not c[0].endswith('cold')}
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    rest = {k: statistics.median(v) * 1000 for k, v in rested.items()}
    mem = {app: backend_memory(wsgi_cgi, os.path.join(www, 'app', script))
           for app, script in (('hello', 'hello.py'),
                               ('flask', 'flask_hello.py'))}
    mem_warm = {app: backend_memory(wsgi_cgi,
                                    os.path.join(www, 'warm', script))
                for app, script in (('hello', 'hello.py'),
                                    ('flask', 'flask_hello.py'))}
    floor = fork_floor(wsgi_cgi, os.path.join(www, 'app', 'flask_hello.py'))

    # Through lighttpd's mod_cgi.
    proc, url = lighttpd(www, wsgi_cgi)
    paths = [('C hello CGI', '/c/hello.cgi')]
    for app, script in (('hello', 'hello.py'), ('flask', 'flask_hello.py')):
        for d in ('warm', 'app', 'cold'):
            paths.append(('%s %s' % (app, d), '/%s/%s' % (d, script)))
    rps = {label: [] for label, _ in paths}
    cpu = {label: [] for label, _ in paths}
    try:
        for _, p in paths:
            servers.wrk(url + p, 1)
        for r in range(wrk_rounds):
            order = list(range(len(paths)))
            if r % 2:
                order.reverse()
            for i in order:
                label, p = paths[i]
                if label.endswith('cold') and r > 0:
                    continue    # tens of requests/s: one run says it
                r_s, ms = wrk_cpu(url + p, seconds)
                rps[label].append(r_s)
                cpu[label].append(ms)
    finally:
        proc.terminate()
        proc.wait()
    for d in ('cold', 'warm', 'app'):
        for script in ('hello.py', 'flask_hello.py'):
            subprocess.run([wsgi_cgi, '--warm-stop',
                            os.path.join(www, d, script)],
                           capture_output=True)
    rps = {k: statistics.median(v) for k, v in rps.items()}
    cpu = {k: statistics.median(v) for k, v in cpu.items()}
    c_ms, c_rps = med['C hello CGI'], rps['C hello CGI']
    c_rest, c_cpu = rest['C hello CGI'], cpu['C hello CGI']
    # A warm request costs at least what the C program's does (lighttpd's
    # fork and exec of a program) and one fork of the backend.
    ncpu = os.cpu_count() or 1
    if floor is None:
        floor_text = ('The floor of a fork per request was not measured: '
                      'the Flask --warm-app backend had no spare to read '
                      'its pages from.')
    else:
        floor_rps = ncpu * 1000 / (c_cpu + floor[2])
        floor_text = (
            'The floor of a fork per request: a C process of the Flask '
            '--warm-app backend\'s size (%.1f MiB anonymous) forking '
            'children that each write the %d pages its spare copied ahead, '
            'then exit, takes %.2f ms of CPU per fork with no Python at all '
            '(bench/fork_floor.c).  Added to the C program\'s %.2f ms, that '
            'leaves at most %.0f requests/s through lighttpd on %d CPUs, '
            '%.3f x the C program, before any Python runs.'
            % (floor[0] / 1024, floor[1], floor[2], c_cpu, floor_rps, ncpu,
               floor_rps / c_rps))
    names = {'cold': 'wsgi-cgi', 'warm': 'wsgi-cgi --warm',
             'app': 'wsgi-cgi --warm-app'}
    rows = ['| C hello-world CGI | %.2f | 1.00 | %.2f | 1.00 | %.0f | 1.00 '
            '| %.2f |' % (c_ms, c_rest, c_rps, c_cpu)]
    for app in ('hello', 'flask'):
        for d in ('cold', 'warm', 'app'):
            k = '%s %s' % (app, d)
            rows.append('| %s, %s | %.2f | %.2f | %.2f | %.2f | %.0f | %.3f '
                        '| %.2f |'
                        % (app, names[d], med[k], med[k] / c_ms, rest[k],
                           rest[k] / c_rest, rps[k], rps[k] / c_rps,
                           cpu[k]))
    memrows = ['| %s | %s | %.1f | %.1f |' % (app, names[d], m[app][0],
                                             m[app][1])
               for app in ('hello', 'flask')
               for d, m in (('warm', mem_warm), ('app', mem))]
    text = '\n'.join([
        '', '## Warm start', '',
        'Direct runs as a server runs a CGI program (stdout drained, until '
        'the process exits), %d rounds alternating (cold: %d), back to '
        'back, then each after a %d ms pause (at rest); then '
        'through lighttpd\'s mod_cgi, `wrk -t%d -c%d`, %d s a run, %d '
        'rounds interleaved (cold: one).  Every timed warm run was '
        'answered by a backend (%s).'
        % (rounds, max(rounds // 4, 5), PAUSE * 1000, servers.THREADS,
           servers.CONNECTIONS, seconds, wrk_rounds,
           ', '.join('%s: %d' % kv for kv in sorted(warm_served.items()))),
        '',
        '| command | back to back (ms) | / C CGI | at rest (ms) | / C CGI '
        '| lighttpd requests/s | / C CGI | CPU ms per request |',
        '|---|---:|---:|---:|---:|---:|---:|---:|'] + rows + [
        '', 'CPU per request: all the machine\'s CPUs, wrk included.  ' +
        floor_text,
        '', '| app | backend | RSS (MiB) | PSS (MiB) |',
        '|---|---|---:|---:|'] + memrows) + '\n'
    with open(os.path.join(HERE, 'results.md'), 'a') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
