# Defines callables, but none named application.
import os.path  # noqa: F401


class Middleware:
    def __call__(self, environ, start_response):
        start_response('200 OK', [])
        return [b'middleware\n']


def make_app():
    return Middleware()


app = make_app()
answer = 42
