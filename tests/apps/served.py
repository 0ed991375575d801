# An application for the server modes: what a persistent process can be
# asked about (its pid, how often its module body ran), and the usual
# request and response shapes.
import hashlib
import os
import sys
import time

LOADED = time.time()
VERSION = 'one'


def application(environ, start_response):
    path = environ.get('PATH_INFO', '')
    text = [('Content-Type', 'text/plain')]
    if path.endswith('/pid'):
        start_response('200 OK', text)
        return [b'%d %s\n' % (os.getpid(), VERSION.encode())]
    if path.endswith('/env'):
        start_response('200 OK', text)
        return [''.join('%s=%r\n' % (k, environ[k])
                        for k in sorted(environ)
                        if not k.startswith('wsgi.') or k in
                        ('wsgi.run_once', 'wsgi.multiprocess',
                         'wsgi.multithread', 'wsgi.url_scheme'))
                .encode('utf-8', 'backslashreplace')]
    if path.endswith('/sha256'):
        digest, size = hashlib.sha256(), 0
        stream = environ['wsgi.input']
        for chunk in iter(lambda: stream.read(65536), b''):
            digest.update(chunk)
            size += len(chunk)
        start_response('200 OK', text)
        return [b'%d %s\n' % (size, digest.hexdigest().encode())]
    if path.endswith('/log'):
        # 1,000 bytes to stderr: a FastCGI request's STDERR records.
        sys.stderr.write('L' * 999 + '\n')
        start_response('200 OK', text)
        return [b'ok\n']
    if path.endswith('/errors'):
        # wsgi.errors is the request's; sys.stderr keeps what a program
        # asks of a real stream.
        errors = environ['wsgi.errors']
        errors.writelines(['one\n', 'two \u00e9\n'])
        errors.flush()
        print('three', file=sys.stderr)
        start_response('200 OK', text)
        return [b'%s %s %s\n' % (
            sys.stderr.encoding.encode(),
            str(isinstance(sys.stderr.fileno(), int)).encode(),
            str(errors is not sys.stderr).encode())]
    if path.endswith('/ignore-body'):
        start_response('200 OK', text)
        return [b'body left unread\n']
    if path.endswith('/blob'):
        start_response('200 OK', [('Content-Type', 'application/octet-stream')])
        return environ['wsgi.file_wrapper'](open(os.environ['BLOB'], 'rb'))
    if path.endswith('/stream'):
        def gen():
            yield b'first\n'
            # The client says it saw the first block by creating this.
            marker = environ.get('QUERY_STRING', '')
            for _ in range(100):
                if not marker or os.path.exists(marker):
                    yield b'second\n'
                    return
                time.sleep(0.05)
            # No sign: the first block was held back on its way.
            yield b'late\n'
        start_response('200 OK', text)
        return gen()
    if path.endswith('/slow'):
        # Said at once, so that a test can wait for it, not guess.
        print('slow started', file=sys.stderr, flush=True)
        time.sleep(float(environ.get('QUERY_STRING') or 1))
        start_response('200 OK', text)
        return [b'slow done\n']
    if path.endswith('/error'):
        raise RuntimeError('served.py failed on purpose')
    if path.endswith('/print'):
        print('printed by the app')
        start_response('200 OK', text)
        return [b'printed\n']
    start_response('200 OK', text)
    return [b'Hello from a server mode\n']
