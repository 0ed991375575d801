# Answers with repr() of environ and a few interpreter facts, one per line.
import sys


def application(environ, start_response):
    lines = []
    for key in sorted(environ):
        value = environ[key]
        if key == 'wsgi.input':
            value = type(value).__name__
        elif key == 'wsgi.errors':
            value = 'stderr' if value is sys.stderr else repr(value)
        elif key == 'wsgi.file_wrapper':
            value = 'callable' if callable(value) else repr(value)
        lines.append('%s=%r' % (key, value))
    lines.append('__name__=%r' % __name__)
    lines.append('__file__=%r' % __file__)
    lines.append('sys.argv=%r' % sys.argv)
    lines.append('sys.executable=%r' % sys.executable)
    lines.append('sys.path[0]=%r' % sys.path[0])
    body = ('\n'.join(lines) + '\n').encode('utf-8', 'backslashreplace')
    start_response('200 OK', [('Content-Type', 'text/plain; charset=utf-8')])
    return [body]
