# Process-level behaviour: atexit, a forked child, the listening check.
import atexit
import os
import stat
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
    elif path == '/stdin-kind':
        mode = os.fstat(0).st_mode
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'stdin is a socket\n' if stat.S_ISSOCK(mode)
                else b'stdin is not a socket\n']
    elif path == '/sys-stdin':
        data = sys.stdin.buffer.read()
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'sys.stdin gave %d bytes\n' % len(data)]
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'done\n']
