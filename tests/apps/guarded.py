# Runs under python3 (wsgiref) and under wsgi-cgi alike.
from wsgiref.handlers import CGIHandler


def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('name=%s\n' % __name__).encode()]


if __name__ == '__main__':
    CGIHandler().run(application)
