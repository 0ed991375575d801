#!/usr/bin/python3
# The classic CGI deployment of Flask's and Werkzeug's documentation: an
# unguarded CGIHandler().run() with no callable named application.
from wsgiref.handlers import CGIHandler


def app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'classic\n']


CGIHandler().run(app)
