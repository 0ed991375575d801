# What the application keeps after its request, and threads that share the
# response: each route reports what happened on stderr.
import atexit
import os
import sys
import threading

kept = {}


def after_request():
    for name, call in (('write', lambda: kept['write'](b'late')),
                       ('start_response',
                        lambda: kept['start_response']('200 OK', [])),
                       ('wsgi.input', lambda: kept['input'].read())):
        try:
            call()
            print('after the request: %s worked' % name, file=sys.stderr)
        except Exception as e:
            print('after the request: %s: %s: %s'
                  % (name, type(e).__name__, e), file=sys.stderr)


def writer(write, errors):
    try:
        for _ in range(50):
            write(b'x' * 65536)
    except OSError as e:
        errors.append(type(e).__name__)


def application(environ, start_response):
    path = environ.get('PATH_INFO', '')
    if path == '/after':
        kept['write'] = start_response('200 OK', [])
        kept['start_response'] = start_response
        kept['input'] = environ['wsgi.input']
        atexit.register(after_request)
        t = threading.Thread(target=lambda: (threading.Event().wait(0.2),
                                             after_request()))
        t.start()
        return [b'body\n']
    if path == '/threads':
        write = start_response('200 OK', [])
        errors = []
        threads = [threading.Thread(target=writer, args=(write, errors))
                   for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print('threads done: %d gave up' % len(errors), file=sys.stderr)
        return []
    if path == '/exc-info-none':
        write = start_response('200 OK', [])
        write(b'sent')
        try:
            start_response('500 Oops', [], sys.exc_info())
        except TypeError as e:
            print('TypeError: %s' % e, file=sys.stderr)
        return [b'!']
    if path == '/interim':
        from urllib.parse import unquote
        try:
            start_response(unquote(environ['QUERY_STRING']), [])
        except ValueError as e:
            print('ValueError: %s' % e, file=sys.stderr)
            raise
        return [b'HTTP/1.1 200 OK\r\n\r\n<script>x</script>']
    if path == '/proc':
        start_response('200 OK', [])
        return environ['wsgi.file_wrapper'](open(environ['FILE'], 'rb'))
    start_response('404 Not Found', [])
    return [b'']
