# The benchmark's hello world: served by wsgi-cgi, or run by python3
# through wsgiref's CGIHandler (the __main__ guard).


def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'Hello World!\n']


if __name__ == '__main__':
    from wsgiref.handlers import CGIHandler
    CGIHandler().run(application)
