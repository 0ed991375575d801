# Reads wsgi.input in the way PATH_INFO names and answers with what it got.
import hashlib


def application(environ, start_response):
    stream = environ['wsgi.input']
    how = environ.get('PATH_INFO', '/read')
    if how == '/read':
        parts = [stream.read()]
    elif how == '/read-none':
        parts = [stream.read(None)]
    elif how == '/read3':
        parts = []
        while True:
            chunk = stream.read(3)
            parts.append(chunk)
            if not chunk:
                break
    elif how == '/readline':
        parts = [stream.readline(), stream.readline(4), stream.readline()]
    elif how == '/readlines':
        parts = stream.readlines()
    elif how == '/readlines-hint':
        parts = stream.readlines(1)
    elif how == '/iter':
        parts = list(stream)
    elif how == '/count':
        size = 0
        for chunk in iter(lambda: stream.read(1 << 20), b''):
            size += len(chunk)
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'%d\n' % size]
    elif how == '/sha256':
        digest, size = hashlib.sha256(), 0
        for chunk in iter(lambda: stream.read(65536), b''):
            digest.update(chunk)
            size += len(chunk)
        body = ('%d %s\n' % (size, digest.hexdigest())).encode()
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [body]
    else:
        raise ValueError(how)
    body = repr(parts).encode() + b'\n'
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [body]
