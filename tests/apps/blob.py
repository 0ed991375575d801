# Sends DOCUMENT_ROOT/blob through wsgi.file_wrapper.
import os


def application(environ, start_response):
    f = open(os.path.join(environ['DOCUMENT_ROOT'], 'blob'), 'rb')
    start_response('200 OK', [('Content-Type', 'application/octet-stream')])
    return environ['wsgi.file_wrapper'](f)
