# A script that fails while it is being loaded.
import this_module_does_not_exist  # noqa: F401


def application(environ, start_response):
    start_response('200 OK', [])
    return [b'unreachable']
