# Reads the whole request body in 64 KiB blocks and answers its size.


def application(environ, start_response):
    stream = environ['wsgi.input']
    left = int(environ.get('CONTENT_LENGTH') or 0)
    size = 0
    while left > 0:
        block = stream.read(min(left, 65536))
        if not block:
            break
        size += len(block)
        left -= len(block)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'%d\n' % size]


if __name__ == '__main__':
    from wsgiref.handlers import CGIHandler
    CGIHandler().run(application)
