# An application that raises before it starts the response.


def application(environ, start_response):
    return [str(1 / 0).encode()]
