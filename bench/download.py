# Sends the file named by DOWNLOAD through wsgi.file_wrapper.


def application(environ, start_response):
    f = open(environ['DOWNLOAD'], 'rb')
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])
    return environ['wsgi.file_wrapper'](f, 65536)


if __name__ == '__main__':
    from wsgiref.handlers import CGIHandler
    CGIHandler().run(application)
