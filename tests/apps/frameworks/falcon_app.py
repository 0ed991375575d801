# Falcon: a GET route, a POST form, JSON and an error.
import falcon


class Hello:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = 'Hello, %s!\n' % req.get_param('name', default='world')


class Form:
    def on_post(self, req, resp):
        form = req.get_media()
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = 'field=%s\n' % form.get('field', '')


class Json:
    def on_get(self, req, resp):
        resp.media = {'framework': 'falcon', 'items': [1, 2, 3]}


class Error:
    def on_get(self, req, resp):
        raise RuntimeError('falcon route failed')


application = falcon.App()
application.add_route('/hello', Hello())
application.add_route('/form', Form())
application.add_route('/json', Json())
application.add_route('/error', Error())

if __name__ == '__main__':
    from wsgiref.handlers import CGIHandler
    CGIHandler().run(application)
