# An application that logs with logging and registers an atexit handler
# that takes a while: a SIGTERM once the response is complete (lighttpd
# sends one) must neither interrupt the clean-up nor be reported.
import atexit
import logging
import os
import time

log = logging.getLogger('clean_exit')


def slow_cleanup(path):
    time.sleep(0.3)
    if path:
        with open(path, 'a') as f:
            f.write('clean-up finished\n')


def application(environ, start_response):
    logfile = environ.get('APP_LOG', os.devnull)
    handler = logging.FileHandler(logfile)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.info('request %s', environ.get('PATH_INFO', ''))
    atexit.register(slow_cleanup, environ.get('CLEANUP_LOG'))
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'done\n']
