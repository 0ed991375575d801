# The HTTP mode's fixture: echoes what a request carries.
import sys


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
    if path == '/hop':
        start_response('200 OK', [('Connection', 'close')])
        return [b'x']
    keys = ('REQUEST_METHOD', 'SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING',
            'REQUEST_URI', 'SERVER_PROTOCOL', 'SERVER_NAME', 'SERVER_PORT',
            'REMOTE_ADDR', 'CONTENT_LENGTH', 'HTTP_X_A', 'HTTP_X_B')
    body = ''.join('%s=%s\n' % (k, environ.get(k, '-')) for k in keys)
    body += 'wsgi.input_terminated=%s\n' % environ.get('wsgi.input_terminated')
    data = body.encode('latin-1')
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(data)))])
    return [data]
