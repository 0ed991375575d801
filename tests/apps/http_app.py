# The HTTP mode's fixture: echoes what a request carries.
import os
import sys
import time


class ReadOnly:
    """A file-like object without fileno(): no sendfile, no size."""

    def __init__(self, f):
        self.f = f

    def read(self, n=-1):
        return self.f.read(n)

    def close(self):
        self.f.close()


def gate(name):
    yield b'first\n'
    for _ in range(50):
        if os.path.exists(name):
            yield b'second\n'
            return
        time.sleep(0.1)
    yield b'late\n'


def application(environ, start_response):
    path = environ['PATH_INFO']
    if path == '/stream':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'one\n', b'two\n']
    if path == '/echo':
        body = environ['wsgi.input'].read()
        start_response('200 OK', [('Content-Type', 'text/plain'),
                                  ('Content-Length', str(len(body)))])
        return [body]
    if path == '/ignore':
        start_response('200 OK', [('Content-Type', 'text/plain'),
                                  ('Content-Length', '3')])
        return [b'ok\n']
    if path == '/short':
        start_response('200 OK', [('Content-Type', 'text/plain'),
                                  ('Content-Length', '10')])
        return [b'abc']
    if path == '/big':
        # 50 MB, more than the sockets' buffers hold.
        start_response('200 OK', [('Content-Type', 'text/plain'),
                                  ('Content-Length', str(800 * 65536))])
        return (b'x' * 65536 for _ in range(800))
    if path in ('/file', '/file-unsized', '/filelike'):
        # wsgi.file_wrapper: a file with or without a length, or an
        # object that only reads.
        name = environ['QUERY_STRING']
        headers = [('Content-Type', 'application/octet-stream')]
        if path == '/file':
            headers.append(('Content-Length', str(os.path.getsize(name))))
        start_response('200 OK', headers)
        f = open(name, 'rb')
        return environ['wsgi.file_wrapper'](f if path != '/filelike' else
                                            ReadOnly(f))
    if path == '/gate':
        # The second block waits until the client has had the first.
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return gate(environ['QUERY_STRING'])
    if path in ('/204body', '/304body', '/304cl'):
        # A body where HTTP has none: it must never reach the client.
        status = '204 No Content' if path == '/204body' else \
            '304 Not Modified'
        headers = [('ETag', '"x"')]
        if path == '/304cl':
            headers.append(('Content-Length', '5'))
            start_response(status, headers)
            return [b'HELLO']
        start_response(status, headers)
        return [b'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n'
                b'X-Injected: yes\r\n\r\nPWNED!']
    if path == '/read':
        # Reads the body in pieces; says how much came.
        n = 0
        while True:
            b = environ['wsgi.input'].read(1000)
            if not b:
                break
            n += len(b)
        data = b'%d\n' % n
        start_response('200 OK', [('Content-Type', 'text/plain'),
                                  ('Content-Length', str(len(data)))])
        return [data]
    if path == '/hop':
        start_response('200 OK', [('Connection', 'close')])
        return [b'x']
    keys = ('REQUEST_METHOD', 'SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING',
            'REQUEST_URI', 'SERVER_PROTOCOL', 'SERVER_NAME', 'SERVER_PORT',
            'REMOTE_ADDR', 'CONTENT_LENGTH', 'HTTP_HOST', 'HTTP_X_A',
            'HTTP_X_B')
    body = ''.join('%s=%s\n' % (k, environ.get(k, '-')) for k in keys)
    body += 'wsgi.input_terminated=%s\n' % environ.get('wsgi.input_terminated')
    data = body.encode('latin-1')
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(data)))])
    return [data]
