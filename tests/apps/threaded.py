# What it imports starts a thread: a warm backend of it must not fork.
import threaded_helper


def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'threaded %d\n' % threaded_helper.STARTED]
