# A Flask application from Debian's python3-flask: dist-packages import.
from flask import Flask, request

app = Flask(__name__)


@app.route('/')
def index():
    return 'Flask says hi to %s\n' % request.args.get('name', 'nobody')


@app.route('/post', methods=['POST'])
def post():
    return 'got %s\n' % request.form.get('field', '')
