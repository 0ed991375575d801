"""A Flask app on PostgreSQL (bench/database.py starts it; PGHOST names
its socket's directory): each request looks one item up by its key and
renders it as JSON.  A connection a thread, as a pool would keep."""
import os
import random
import threading

import psycopg2
from flask import Flask, jsonify

local = threading.local()
app = Flask(__name__)


def cursor():
    conn = getattr(local, 'conn', None)
    if conn is None:
        conn = local.conn = psycopg2.connect(
            host=os.environ['PGHOST'], user='bench', dbname='bench')
        conn.autocommit = True
    return conn.cursor()


@app.route('/')
def item():
    with cursor() as cur:
        cur.execute('SELECT id, name, price, stock FROM items WHERE id = %s',
                    (random.randint(1, 10000),))
        key, name, price, stock = cur.fetchone()
    return jsonify(id=key, name=name, price=str(price), stock=stock)
