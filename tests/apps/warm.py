# Warm start's fixture: what a request can see of its process.
import atexit
import os
import random
import sys
import time

import warm_helper

COUNT = 0
LOADED_IN = os.getpid()


def at_exit():
    path = os.environ.get('ATEXIT_MARKER')
    if path and os.environ.get('QUERY_STRING') == 'atexit':
        time.sleep(1)
        with open(path, 'w') as f:
            f.write('done\n')


atexit.register(at_exit)


def application(environ, start_response):
    global COUNT
    COUNT += 1
    path = environ.get('PATH_INFO', '/')
    if path == '/state':
        body = 'count=%d helper=%d\n' % (COUNT, warm_helper.bump())
    elif path == '/env':
        body = ''.join('%s=%s\n' % kv for kv in sorted(os.environ.items()))
    elif path == '/random':
        body = '%r\n' % random.random()
    elif path == '/helper':
        body = 'helper %s\n' % warm_helper.VALUE
    elif path == '/loaded':
        body = 'body ran in %s\n' % (
            'this process' if LOADED_IN == os.getpid() else
            'the parent' if LOADED_IN == os.getppid() else 'another')
    elif path == '/ppid':
        body = '%d\n' % os.getppid()
    elif path == '/echo':
        body = environ.get('QUERY_STRING', '') + '\n'
    elif path == '/sleep':
        # The marker inside the try: a SIGTERM right after it is caught.
        try:
            with open(environ['MARKER'], 'w') as f:
                f.write('running\n')
            time.sleep(float(environ.get('QUERY_STRING') or 2))
        except BaseException as e:
            sys.stderr.write('interrupted: %s\n' % type(e).__name__)
            raise
        body = 'slept\n'
    else:
        body = 'warm %s\n' % sys.argv[0]
    data = body.encode()
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(data)))])
    return [data]
