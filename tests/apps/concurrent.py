# An application for --threads: each request echoes what made it its own
# (path, query, a header, its body, read in pieces) after sleeping at a
# point the query names, and writes its id to wsgi.errors; /flags says
# what environ claims; /hold waits until the file its query names exists;
# /big answers that many bytes; /slurp reads the whole body.
import os
import sys
import time


def application(environ, start_response):
    path = environ.get('PATH_INFO', '')
    query = environ.get('QUERY_STRING', '')
    text = [('Content-Type', 'text/plain')]
    if path == '/flags':
        start_response('200 OK', text)
        return [b'multithread=%s multiprocess=%s pid=%d\n' % (
            str(environ['wsgi.multithread']).encode(),
            str(environ['wsgi.multiprocess']).encode(), os.getpid())]
    if path == '/hold':
        environ['wsgi.errors'].write('holding\n')
        while not os.path.exists(query):
            time.sleep(0.01)
        start_response('200 OK', text)
        return [b'held %d\n' % os.getpid()]
    if path == '/big':
        # A response larger than the socket's buffers, for a slow reader.
        environ['wsgi.errors'].write('big begins\n')
        start_response('200 OK', text)
        return [b'x' * int(query)]
    if path == '/slurp':
        environ['wsgi.errors'].write('slurp begins\n')
        n = len(environ['wsgi.input'].read())
        start_response('200 OK', text)
        return [b'%d\n' % n]
    if path == '/spin':
        deadline = time.time() + float(query or '0.2')
        while time.time() < deadline:
            pass
        start_response('200 OK', text)
        return [b'spun\n']
    args = dict(p.split('=', 1) for p in query.split('&') if '=' in p)
    pause = float(args.get('pause', '0'))
    where = args.get('at', 'start')
    rid = args.get('id', '-')
    environ['wsgi.errors'].write('request %s\n' % rid)
    print('stderr of %s' % rid, file=sys.stderr)
    if where == 'start':
        time.sleep(pause)
    stream = environ['wsgi.input']
    body = b''
    while True:
        piece = stream.read(7)
        if not piece:
            break
        body += piece
        if where == 'input':
            time.sleep(pause / 10)
    start_response('200 OK', text)
    head = ('%s %s %s %d\n' % (path, query,
            environ.get('HTTP_X_ID', '-'), len(body))).encode()

    def gen():
        yield head
        if where == 'body':
            time.sleep(pause)
        yield body + b'\n'
    return gen()
