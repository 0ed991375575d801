# Process-level behaviour: atexit, a forked child, the listening check.
import atexit
import os
import sys
import time


def wait_for_eof_marker(marker):
    # The response must be closed before atexit handlers run: the reader
    # creates marker when it sees the end of the response.
    for _ in range(100):
        if os.path.exists(marker):
            print('atexit: the client had EOF', file=sys.stderr)
            return
        time.sleep(0.05)
    print('atexit: the client was still waiting', file=sys.stderr)


def application(environ, start_response):
    path = environ.get('PATH_INFO', '')
    if path == '/atexit':
        atexit.register(wait_for_eof_marker, environ['EOF_MARKER'])
    elif path == '/fork':
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
    elif path == '/sys-stdin':
        data = sys.stdin.buffer.read()
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'sys.stdin gave %d bytes\n' % len(data)]
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'done\n']
