# One route per response rule (spec section 4): PATH_INFO names the case.
import os
import subprocess
import sys
import time

# Status and headers that start_response() must refuse at call time.
REFUSED = {
    '/status-int': (200, []),
    '/status-short': ('200', []),
    '/status-crlf': ('200 OK\r\nX-Injected: 1', []),
    '/status-nonlatin': ('200 Ok \u2603', []),
    '/headers-tuple': ('200 OK', (('A', 'b'),)),
    '/header-list': ('200 OK', [['A', 'b']]),
    '/header-bytes': ('200 OK', [(b'A', b'b')]),
    '/header-crlf': ('200 OK', [('X', 'a\r\nX-Injected: 1')]),
    '/header-lf': ('200 OK', [('X', 'a\nX-Injected: 1')]),
    '/header-nul-crlf': ('200 OK', [('X', 'a\x00\r\nX-Injected: 1')]),
    '/header-name-space': ('200 OK', [('X Y', 'a')]),
    '/header-name-colon': ('200 OK', [('X:', 'a')]),
    '/header-nonlatin': ('200 OK', [('X', '\u2603')]),
    '/hop-by-hop': ('200 OK', [('Transfer-Encoding', 'chunked')]),
    '/status-header': ('200 OK', [('Status', '404 Not Found')]),
    '/length-bad': ('200 OK', [('Content-Length', 'abc')]),
}

TEXT = [('Content-Type', 'text/plain')]


class Closing:
    """An iterable with close(), which it logs to CLOSE_LOG."""

    def __init__(self, environ, chunks, fail=None):
        self.log = environ['CLOSE_LOG']
        self.chunks = chunks
        self.fail = fail

    def __iter__(self):
        for chunk in self.chunks:
            yield chunk
        if self.fail == 'iter':
            raise RuntimeError('failed while iterating')

    def close(self):
        with open(self.log, 'a') as f:
            f.write('closed\n')
        if self.fail == 'close':
            raise RuntimeError('failed in close')


def refused(environ, start_response, status, headers):
    try:
        start_response(status, headers)
    except (TypeError, ValueError) as e:
        start_response('200 OK', TEXT, sys.exc_info())
        return [('%s: %s\n' % (type(e).__name__, e)).encode()]
    return [b'accepted\n']


def generator(start_response, chunks, fail=False):
    start_response('200 OK', TEXT)
    for chunk in chunks:
        yield chunk
    if fail:
        raise RuntimeError('failed after the headers')


def no_start(chunks):
    yield from chunks


def application(environ, start_response):
    path = environ.get('PATH_INFO', '')
    query = environ.get('QUERY_STRING', '')
    if path in REFUSED:
        return refused(environ, start_response, *REFUSED[path])
    if path == '/second-call':
        start_response('200 OK', TEXT)
        try:
            start_response('404 Not Found', TEXT)
        except AssertionError as e:
            return [('%s: %s\n' % (type(e).__name__, e)).encode()]
        return [b'accepted\n']
    if path == '/second-call-type':
        start_response('200 OK', TEXT)
        try:
            start_response('404 Not Found', TEXT)
        except Exception as e:
            return [('%s\n' % type(e).__name__).encode()]
        return [b'accepted\n']
    if path == '/exc-info-replace':
        start_response('200 OK', [('X-First', '1')])
        try:
            raise KeyError('late')
        except KeyError:
            start_response('503 Busy', [('X-Second', '1')], sys.exc_info())
        return [b'replaced\n']
    if path == '/exc-info-after-sent':
        write = start_response('200 OK', TEXT)
        write(b'partial\n')
        try:
            raise KeyError('late')
        except KeyError:
            start_response('500 Oops', TEXT, sys.exc_info())
        return [b'not reached\n']
    if path == '/withheld':
        return generator(start_response, [b'', b''], fail=True)
    if path == '/after-headers':
        return generator(start_response, [b'partial\n'], fail=True)
    if path == '/write':
        write = start_response('200 OK', TEXT)
        write(b'one ')
        return [b'two\n']
    if path == '/body-before-start':
        return no_start([b'x'])
    if path == '/no-start':
        return []
    if path == '/start-in-generator':
        return generator(start_response, [b'late start\n'])
    if path == '/single':
        start_response('200 OK', TEXT)
        return [b'hello']
    if path == '/two':
        start_response('200 OK', TEXT)
        return [b'a', b'b']
    if path == '/generator':
        return generator(start_response, [b'hello'])
    if path == '/empty':
        start_response('200 OK', TEXT)
        return []
    if path in ('/204', '/304'):
        start_response(path[1:] + ' X', [])
        return []
    if path in ('/204-body', '/304-body'):
        start_response(path[1:4] + ' X', [])
        return [b'HTTP/1.1 200 OK\r\n\r\nnot a body', b'twice']
    if path == '/declared-long':
        start_response('200 OK', [('Content-Length', '3')])
        return [b'hello', b'world']
    if path == '/declared-short':
        start_response('200 OK', [('Content-Length', '10')])
        return [b'abc']
    if path == '/str-chunk':
        start_response('200 OK', TEXT)
        return ['text']
    if path == '/byteslike':
        start_response('200 OK', TEXT)
        return [bytearray(b'ab'), memoryview(b'cd')]
    if path == '/bytes-itself':
        start_response('200 OK', TEXT)
        return b'hello'
    if path == '/none':
        start_response('200 OK', TEXT)
        return None
    if path == '/close':
        start_response('200 OK', TEXT)
        return Closing(environ, [b'a', b'b'], fail=query or None)
    if path == '/print':
        print('print noise')
        os.write(1, b'fd 1 noise\n')
        sys.stdout.flush()
        subprocess.run(['echo', 'child noise'], check=True)
        start_response('200 OK', TEXT)
        return [b'clean\n']
    if path == '/file':
        f = open(__file__, 'rb')
        f.seek(int(query or 0))
        start_response('200 OK', TEXT)
        return environ['wsgi.file_wrapper'](f, 4096)
    if path == '/file-declared':
        f = open(__file__, 'rb')
        start_response('200 OK', [('Content-Length', '7')])
        return environ['wsgi.file_wrapper'](f)
    if path == '/file-bytesio':
        import io
        start_response('200 OK', TEXT)
        return environ['wsgi.file_wrapper'](io.BytesIO(b'x' * 10000), 3000)
    if path == '/exit':
        sys.exit(3)
    if path == '/errors':
        errors = environ['wsgi.errors']
        errors.write('lone surrogate \udcff and snowman \u2603\n')
        errors.writelines(['one\n', 'two\n'])
        errors.flush()
        start_response('200 OK', TEXT)
        return [b'logged\n']
    if path == '/stream':
        # The second block waits until the reader has seen the first.
        def blocks(marker):
            yield b'first\n'
            for _ in range(200):
                if os.path.exists(marker):
                    yield b'second\n'
                    return
                time.sleep(0.05)
            yield b'the first block was held back\n'
        start_response('200 OK', TEXT)
        return blocks(environ['MARKER'])
    if path == '/notfound':
        start_response('404 Not Found', TEXT)
        return [b'no such thing\n']
    if path == '/redirect':
        start_response('302 Found', [('Location', 'http://example.org/x')])
        return [b'']
    if path == '/whole-then-wait':
        # The whole declared body, then the iterator waits: a server
        # that has the response sends SIGTERM meanwhile (lighttpd).
        start_response('200 OK', [('Content-Type', 'text/plain'),
                                  ('Content-Length', '6')])

        def waits():
            yield b'whole\n'
            time.sleep(30)
            yield b'never\n'
        return Closing(environ, waits())
    if path == '/forever':
        start_response('200 OK', TEXT)
        return Closing(environ, iter(lambda: b'x' * 65536, None))
    if path == '/hang':
        # Never returns: half a body, then waits for the server's kill.
        def hang():
            yield b'half'
            while True:
                time.sleep(1)
        start_response('200 OK', [('Content-Length', '8')])
        return hang()
    if path == '/hang-before':
        while True:
            time.sleep(1)
    if path == '/huge':
        start_response('200 OK', TEXT)
        return (b'x' * 65536 for _ in range(64))
    if path == '/head':
        start_response('200 OK', [('Content-Length', '5')])
        return [] if environ['REQUEST_METHOD'] == 'HEAD' else [b'hello']
    raise LookupError('no such case: %r' % path)
