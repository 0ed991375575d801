"""Apps that wait on bench/upstream.py (UPSTREAM_PORT): application waits
50 ms and answers a line; flask_app waits 5 ms and renders a small JSON
document.  A connection to the upstream a thread, as a pool would keep."""
import json
import os
import socket
import threading

from flask import Flask

PORT = int(os.environ.get('UPSTREAM_PORT', '0'))
local = threading.local()


def query(ms):
    conn = getattr(local, 'conn', None)
    if conn is None:
        conn = local.conn = socket.create_connection(('127.0.0.1', PORT))
        local.file = conn.makefile('rb')
    conn.sendall(b'%d\n' % ms)
    return local.file.readline()


def application(environ, start_response):
    body = b'waited ' + query(50)
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]


flask_app = Flask(__name__)


@flask_app.route('/')
def mixed():
    query(5)
    return flask_app.response_class(json.dumps(
        {'user': 42, 'items': [{'id': i, 'name': 'item %d' % i}
                               for i in range(10)]}),
        mimetype='application/json')
