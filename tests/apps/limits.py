# An application for --request-timeout and --max-rss: a request that spins
# in Python, one that sleeps in C, one that holds until a file exists, one
# that grows the process; each answers the worker's pid and what it holds.
import os
import time

HELD = []


def application(environ, start_response):
    path = environ.get('PATH_INFO', '')
    query = environ.get('QUERY_STRING', '')
    if path == '/loop':
        while True:
            pass
    if path == '/sleep':
        time.sleep(3600)
    if path == '/hold':
        environ['wsgi.errors'].write('holding\n')
        while not os.path.exists(query):
            time.sleep(0.01)
    if path == '/grow':
        # Touched, so that it is resident.
        HELD.append(b'x' * (int(query) << 20))
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'%d held %d\n' % (os.getpid(), len(HELD))]
