# Bottle: a GET route, a POST form, JSON and an error.
import bottle

app = bottle.Bottle()


@app.get('/hello')
def hello():
    bottle.response.content_type = 'text/plain'
    return 'Hello, %s!\n' % bottle.request.query.get('name', 'world')


@app.post('/form')
def form():
    bottle.response.content_type = 'text/plain'
    # Bottle 0.12: forms.get() is latin-1 text; getunicode() decodes UTF-8.
    return 'field=%s\n' % bottle.request.forms.getunicode('field', '')


@app.get('/json')
def json_route():
    return {'framework': 'bottle', 'items': [1, 2, 3]}


@app.get('/error')
def error():
    raise RuntimeError('bottle route failed')


application = app

if __name__ == '__main__':
    from wsgiref.handlers import CGIHandler
    CGIHandler().run(application)
