# A raw Werkzeug application: routing, a POST form, JSON; /error is left
# unhandled, so the launcher answers it.
import json

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

url_map = Map([
    Rule('/hello', endpoint='hello'),
    Rule('/form', endpoint='form', methods=['POST']),
    Rule('/json', endpoint='json'),
    Rule('/error', endpoint='error'),
])


@Request.application
def application(request):
    try:
        endpoint, _ = url_map.bind_to_environ(request.environ).match()
    except HTTPException as e:
        return e
    if endpoint == 'hello':
        return Response('Hello, %s!\n' % request.args.get('name', 'world'))
    if endpoint == 'form':
        return Response('field=%s\n' % request.form.get('field', ''))
    if endpoint == 'json':
        return Response(json.dumps({'framework': 'werkzeug',
                                    'items': [1, 2, 3]}),
                        mimetype='application/json')
    raise RuntimeError('werkzeug route failed')


if __name__ == '__main__':
    from wsgiref.handlers import CGIHandler
    CGIHandler().run(application)
