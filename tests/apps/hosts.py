"""Which host answered, and what it was asked: the body is the request's
method, query and body digest, then the host's name (HOST_NAME, set by
tests/machines.bats), so that a client behind a load balancer checks each
response against its request.  A request takes a few milliseconds, so
that requests are in flight when a host is reloaded or stopped."""
import hashlib
import os
import time

HOST = os.environ.get('HOST_NAME', '-')


def application(environ, start_response):
    n = int(environ.get('CONTENT_LENGTH') or 0)
    body = environ['wsgi.input'].read(n) if n else b''
    time.sleep(0.003)
    out = ('%s %s %s %s\n' % (environ['REQUEST_METHOD'],
                              environ.get('QUERY_STRING', ''),
                              hashlib.sha256(body).hexdigest(),
                              HOST)).encode()
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(out)))])
    return [out]
