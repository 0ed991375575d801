# An NPH script (its name begins with nph-): a complete HTTP response.


def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'nph\n']
