"""make bench: wsgi-cgi against python3 + wsgiref's CGIHandler and the bare
interpreter, side by side in one run, the commands alternating round by
round.  Prints medians, ratios and peak RSS; writes bench/results.md.

Usage: python3 bench/run.py WSGI_CGI [ROUNDS]
"""
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, 'work')
PYTHON = sys.executable          # the Python wsgi-cgi embeds
BIG = 50 * 1000 * 1000          # the upload and download size
LINES = 5000                    # the large script
PIPE_SIZE = 1 << 20             # as a server reading the response would
BUFFER = bytearray(PIPE_SIZE)


def cgi_env(script, **extra):
    env = {
        'GATEWAY_INTERFACE': 'CGI/1.1', 'REQUEST_METHOD': 'GET',
        'SERVER_PROTOCOL': 'HTTP/1.1', 'SERVER_NAME': 'localhost',
        'SERVER_PORT': '80', 'SCRIPT_NAME': '/' + os.path.basename(script),
        'SCRIPT_FILENAME': script, 'QUERY_STRING': '', 'PATH_INFO': '/',
        'REMOTE_ADDR': '127.0.0.1', 'SERVER_SOFTWARE': 'bench',
    }
    env.update(extra)
    return env


METHOD = """\
    def method_{m}(self, items, limit=10):
        \"\"\"Method {m} of {cls}: filters, counts and formats.\"\"\"
        # Real code mixes loops, branches, calls and literals.
        result = {{}}
        for index, item in enumerate(items):
            if index >= limit:
                break
            key = '%s-%d' % (self.name, index)
            if isinstance(item, dict):
                result[key] = sorted(item.items())
            elif item is None:
                continue
            else:
                result[key] = str(item).strip().lower()
        total = sum(len(str(v)) for v in result.values())
        self.counter += total
        return {{'count': len(result), 'total': total, 'items': result}}

"""


def write_script(path, lines, dense):
    """A script of about `lines` lines that ends with hello.py: realistic
    (classes with 18-line methods, as in the standard library), or dense
    (three-line functions: the most code objects per line)."""
    out = ['# %d lines of %s code, then the application.\n'
           % (lines, 'dense' if dense else 'realistic')]
    n = 0
    while sum(s.count('\n') for s in out) < lines - 15:
        if dense:
            out.append('def f%d(x):\n    return x * %d + len(str(x))\n\n'
                       % (n, n))
        else:
            out.append('\nclass Model%d:\n    """Model %d."""\n\n'
                       '    def __init__(self, name):\n'
                       '        self.name = name\n        self.counter = 0\n\n'
                       % (n, n))
            for m in range(10):
                out.append(METHOD.format(m=m, cls='Model%d' % n))
        n += 1
    out.append(open(os.path.join(HERE, 'hello.py')).read())
    text = ''.join(out)
    # Left alone when unchanged: a script written just now is compiled
    # until its cache is two seconds younger than it (the racy rule).
    if os.path.exists(path) and open(path).read() == text:
        return
    with open(path, 'w') as f:
        f.write(text)


def make_inputs():
    os.makedirs(WORK, exist_ok=True)
    big = os.path.join(WORK, 'big.py')
    dense = os.path.join(WORK, 'dense.py')
    write_script(big, LINES, False)
    write_script(dense, LINES, True)
    blob = os.path.join(WORK, 'blob')
    if not os.path.exists(blob) or os.path.getsize(blob) != BIG:
        with open(blob, 'wb') as f:
            block = os.urandom(1 << 20)
            for i in range(BIG // len(block)):
                f.write(block)
            f.write(block[:BIG % len(block)])
    return big, dense, blob


def run_once(argv, env, stdin_path):
    """Wall time of one run, stdout drained as a server would."""
    stdin = open(stdin_path or os.devnull, 'rb')
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, env=env, stdin=stdin, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, bufsize=0,
                         pipesize=PIPE_SIZE)
    out = p.stdout
    size = 0
    while True:
        n = out.readinto(BUFFER)
        if not n:
            break
        size += n
    status = p.wait()
    t1 = time.perf_counter()
    stdin.close()
    out.close()
    if status != 0 or (size == 0 and '-c' not in argv):
        raise SystemExit('bench: %s failed (status %d, %d bytes)'
                         % (' '.join(argv), status, size))
    return t1 - t0


def peak_rss(argv, env, stdin_path):
    """Peak RSS in KiB, by GNU time: a child forked from this (large)
    process would inherit its high-water mark across exec."""
    out = os.path.join(WORK, 'rss')
    with open(stdin_path or os.devnull, 'rb') as stdin:
        subprocess.run(['/usr/bin/time', '-f', '%M', '-o', out] + argv,
                       env=env, stdin=stdin, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
    with open(out) as f:
        return int(f.read().split()[-1])


def main():
    wsgi_cgi = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    big, dense, blob = make_inputs()
    hello = os.path.join(HERE, 'hello.py')
    flask = os.path.join(HERE, 'flask_hello.py')
    upload = os.path.join(HERE, 'upload.py')
    download = os.path.join(HERE, 'download.py')
    up_env = dict(REQUEST_METHOD='POST', CONTENT_LENGTH=str(BIG),
                  CONTENT_TYPE='application/octet-stream')
    # (group, label, argv, env, stdin, rounds)
    cases = [
        ('hello', 'python3 -c pass', [PYTHON, '-c', 'pass'], {}, None),
        ('hello', 'python3 + wsgiref', [PYTHON, hello], cgi_env(hello), None),
        ('hello', 'wsgi-cgi', [wsgi_cgi, hello], cgi_env(hello), None),
        ('flask', 'python3 + wsgiref', [PYTHON, flask], cgi_env(flask), None),
        # As the kernel runs its #! line: one word of options.
        ('flask', 'wsgi-cgi', [wsgi_cgi, '--callable app', flask],
         cgi_env(flask), None),
        ('5000 lines', 'python3 + wsgiref', [PYTHON, big], cgi_env(big),
         None),
        ('5000 lines', 'wsgi-cgi', [wsgi_cgi, big], cgi_env(big), None),
        ('5000 dense lines', 'python3 + wsgiref', [PYTHON, dense],
         cgi_env(dense), None),
        ('5000 dense lines', 'wsgi-cgi', [wsgi_cgi, dense], cgi_env(dense),
         None),
        ('50 MB upload', 'python3 + wsgiref', [PYTHON, upload],
         cgi_env(upload, **up_env), blob),
        ('50 MB upload', 'wsgi-cgi', [wsgi_cgi, upload],
         cgi_env(upload, **up_env), blob),
        ('50 MB download', 'python3 + wsgiref', [PYTHON, download],
         cgi_env(download, DOWNLOAD=blob), None),
        ('50 MB download', 'wsgi-cgi', [wsgi_cgi, download],
         cgi_env(download, DOWNLOAD=blob), None),
    ]
    times = {i: [] for i in range(len(cases))}
    rss = {i: 0 for i in range(len(cases))}
    for i, (_, _, argv, env, stdin) in enumerate(cases):       # warm-up
        for _ in range(3):
            run_once(argv, env, stdin)
    for r in range(rounds):
        order = list(range(len(cases)))
        if r % 2:
            order.reverse()
        for i in order:
            group = cases[i][0]
            if group.startswith('50 MB') and r >= max(rounds // 4, 5):
                continue        # the large transfers need fewer rounds
            times[i].append(run_once(*cases[i][2:]))
    for i, case in enumerate(cases):
        rss[i] = max(peak_rss(*case[2:]) for _ in range(3))
    med = {i: statistics.median(times[i]) for i in times}

    def find(group, label):
        for i, c in enumerate(cases):
            if c[0] == group and c[1] == label:
                return i

    rows = []
    for i, (group, label, *_rest) in enumerate(cases):
        rows.append((group, label, med[i] * 1000, rss[i] / 1024))
    ours = {g: find(g, 'wsgi-cgi') for g, *_ in cases}
    bare = med[find('hello', 'python3 -c pass')]
    ratios = []
    for g in ('hello', 'flask', '5000 lines', '5000 dense lines',
              '50 MB upload', '50 MB download'):
        w = med[ours[g]]
        peer = med[find(g, 'python3 + wsgiref')]
        ratios.append((g, 'wsgi-cgi / python3 + wsgiref', w / peer))
    ratios.insert(0, ('hello', 'wsgi-cgi / python3 -c pass',
                      med[ours['hello']] / bare))
    for g in ('5000 lines', '5000 dense lines'):
        ratios.append((g, 'wsgi-cgi %s / wsgi-cgi hello' % g,
                       med[ours[g]] / med[ours['hello']]))
    for g in ('50 MB upload', '50 MB download'):
        ratios.append((g, 'wsgi-cgi throughput, GB/s',
                       BIG / 1e9 / med[ours[g]]))
    ratios.append(('hello', 'wsgi-cgi peak RSS / python3 -c pass',
                   rss[ours['hello']] / rss[find('hello', 'python3 -c pass')]))

    lines = ['| case | command | median (ms) | peak RSS (MiB) |',
             '|---|---|---:|---:|']
    lines += ['| %s | %s | %.2f | %.1f |' % r for r in rows]
    lines += ['', '| case | ratio | value |', '|---|---|---:|']
    lines += ['| %s | %s | %.2f |' % r for r in ratios]
    uname = os.uname()
    head = ['# wsgi-cgi benchmark', '',
            'Command: `make bench` (%d rounds, commands alternating; '
            'the 50 MB cases %d rounds).  %s, %d CPUs, Python %s.'
            % (rounds, max(rounds // 4, 5), uname.machine, os.cpu_count(),
               sys.version.split()[0]), '']
    text = '\n'.join(head + lines) + '\n'
    with open(os.path.join(HERE, 'results.md'), 'w') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
