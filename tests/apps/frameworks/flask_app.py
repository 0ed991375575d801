# Flask: a GET route, a POST form, JSON and an error; wsgiref in __main__.
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.route('/hello')
def hello():
    return 'Hello, %s!\n' % request.args.get('name', 'world')


@app.route('/form', methods=['POST'])
def form():
    return 'field=%s\n' % request.form.get('field', '')


@app.route('/json')
def json_route():
    return jsonify(framework='flask', items=[1, 2, 3])


@app.route('/error')
def error():
    raise RuntimeError('flask route failed')


application = app

if __name__ == '__main__':
    from wsgiref.handlers import CGIHandler
    CGIHandler().run(application)
