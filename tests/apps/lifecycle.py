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
        st = os.fstat(0)
        null = os.stat(os.devnull)
        start_response('200 OK', [('Content-Type', 'text/plain')])
        if (st.st_dev, st.st_ino) == (null.st_dev, null.st_ino):
            return [b'stdin is /dev/null\n']
        return [b'stdin is a socket\n' if stat.S_ISSOCK(st.st_mode)
                else b'stdin is something else\n']
    elif path == '/fd0-redirect':
        # Under mod_cgid fd 0 was the response socket: this must not
        # become the response.
        try:
            os.write(0, b'Status: 302 Found\r\n'
                     b'Location: http://evil.example/\r\n\r\n')
        except OSError:
            pass
    elif path == '/sys-stdin':
        data = sys.stdin.buffer.read()
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'sys.stdin gave %d bytes\n' % len(data)]
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'done\n']
