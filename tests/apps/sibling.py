# Imports a module that sits next to it, as python3 script.py allows.
import sibling_helper


def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [sibling_helper.MESSAGE.encode() + b'\n']
