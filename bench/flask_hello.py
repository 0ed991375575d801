#!/usr/local/bin/wsgi-cgi --callable app
# Flask's hello world, for wsgi-cgi --callable app and for python3.
from flask import Flask

app = Flask(__name__)


@app.route('/')
def hello():
    return 'Hello World!\n'


if __name__ == '__main__':
    from wsgiref.handlers import CGIHandler
    CGIHandler().run(app)
