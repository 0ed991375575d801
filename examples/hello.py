#!/usr/bin/env wsgi-cgi
# The smallest WSGI application: run it with `wsgi-cgi examples/hello.py`.


def application(environ, start_response):
    body = b'Hello World!\n'
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [body]
