#!/usr/bin/python3
"""Requests through a load balancer until told to stop, each response
checked against its request (tests/apps/hosts.py's body); prints what
went wrong and one summary line.

    balanced.py HOST:PORT CONNECTIONS PROGRESS STOP

CONNECTIONS clients each keep one HTTP/1.1 connection (a new one when the
balancer closes it, or after a failure) and send GETs and POSTs (one in
three, with a body of up to 4 KiB), each with its own query.  PROGRESS
holds the requests answered so far, then how many each host answered
("N h1=A h2=B ..."), rewritten as they go; the clients stop once the
file STOP exists.  The summary:

    requests N get-failed G post-failed P hosts h1=A h2=B h3=C

A failure is a request that got no response, a status other than 200,
or a body that is not its own."""
import os
import random
import socket
import sys
import threading
import hashlib

lock = threading.Lock()
count = {'requests': 0, 'GET': 0, 'POST': 0}
hosts = {}
errors = []


def response(s, f):
    status = f.readline()
    if not status:
        raise EOFError('closed before a response')
    length, close = None, False
    while True:
        line = f.readline()
        if not line:
            raise EOFError('closed in a head')
        if line in (b'\r\n', b'\n'):
            break
        name, _, value = line.partition(b':')
        name, value = name.strip().lower(), value.strip()
        if name == b'content-length':
            length = int(value)
        elif name == b'connection' and value.lower() == b'close':
            close = True
    if length is None:
        raise ValueError('no Content-Length: %r' % status)
    body = f.read(length)
    if len(body) != length:
        raise EOFError('closed in a body')
    return status, body, close


def client(addr, cid, stop):
    rnd = random.Random(cid)
    host, port = addr.rsplit(':', 1)
    s = f = None
    r = 0
    while not os.path.exists(stop):
        r += 1
        method = 'POST' if rnd.random() < 1 / 3 else 'GET'
        body = bytes(rnd.randrange(256) for _ in
                     range(rnd.randrange(4096))) if method == 'POST' else b''
        query = 'c=%d&r=%d' % (cid, r)
        want = ('%s %s %s ' % (method, query,
                               hashlib.sha256(body).hexdigest())).encode()
        try:
            if s is None:
                s = socket.create_connection((host, int(port)), timeout=30)
                f = s.makefile('rb')
            s.sendall(b'%s /?%s HTTP/1.1\r\nHost: app\r\n'
                      b'Content-Length: %d\r\n\r\n%s' % (
                          method.encode(), query.encode(), len(body), body))
            status, got, close = response(s, f)
            if not status.startswith(b'HTTP/1.1 200 ') or \
                    not got.startswith(want):
                raise ValueError('%r %r' % (status.strip(), got[:200]))
            name = got[len(want):].strip().decode()
            with lock:
                count['requests'] += 1
                hosts[name] = hosts.get(name, 0) + 1
            if close:
                s.close()
                s = None
        except Exception as e:  # noqa: BLE001 - every failure is counted
            with lock:
                count[method] += 1
                errors.append('%s %s: %r' % (method, query, e))
            if s is not None:
                s.close()
            s = None


def progress(path, stop, done):
    while not done.wait(0.05):
        with lock:
            line = '%d %s\n' % (count['requests'], ' '.join(
                '%s=%d' % kv for kv in sorted(hosts.items())))
        with open(path + '.tmp', 'w') as out:
            out.write(line)
        os.replace(path + '.tmp', path)


def main(argv):
    addr, conns, path, stop = argv[0], int(argv[1]), argv[2], argv[3]
    done = threading.Event()
    p = threading.Thread(target=progress, args=(path, stop, done))
    p.start()
    threads = [threading.Thread(target=client, args=(addr, i, stop))
               for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    p.join()
    for e in errors[:10]:
        print(e)
    print('requests %d get-failed %d post-failed %d hosts %s' % (
        count['requests'], count['GET'], count['POST'],
        ' '.join('%s=%d' % kv for kv in sorted(hosts.items()))))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
