#!/usr/bin/python3
"""Many requests at once, each its own (path, query, header, body), and
each response checked against its request; prints "ok N" or what differs.

    concurrent.py PROTO ADDR CLIENTS ROUNDS [PREFIX]

PROTO is http (keep-alive: each client sends ROUNDS requests on one
connection, their paths after PREFIX, as a proxy in front strips it),
http-close, fastcgi, scgi or uwsgi (a connection a request).  With fastcgi each
request's STDERR records must hold its own lines alone."""
import random
import socket
import sys
import threading

sys.path.insert(0, __import__('os').path.dirname(__file__))
import gwclient  # noqa: E402

WHERE = ('start', 'input', 'body', 'none')


def http_response(s, buf):
    while b'\r\n\r\n' not in buf:
        b = s.recv(65536)
        if not b:
            raise EOFError('closed in a head')
        buf += b
    head, rest = buf.split(b'\r\n\r\n', 1)
    lines = head.split(b'\r\n')
    fields = dict(l.split(b': ', 1) for l in lines[1:])
    if b'Content-Length' in fields:
        n = int(fields[b'Content-Length'])
        while len(rest) < n:
            rest += s.recv(65536)
        return lines[0], rest[:n], rest[n:]
    body = b''
    while True:
        while b'\r\n' not in rest:
            rest += s.recv(65536)
        size, rest = rest.split(b'\r\n', 1)
        n = int(size, 16)
        while len(rest) < n + 2:
            rest += s.recv(65536)
        body, rest = body + rest[:n], rest[n + 2:]
        if n == 0:
            return lines[0], body, rest


def expect(path, query, xid, body):
    return b'%s %s %s %d\n%s\n' % (path.encode(), query.encode(),
                                   xid.encode(), len(body), body)


def one(proto, addr, cid, rounds, errors, prefix):
    rnd = random.Random(cid)
    s = gwclient.connect(addr) if proto == 'http' else None
    close = b'Connection: close\r\n' if proto == 'http-close' else b''
    buf = b''
    for r in range(rounds):
        rid = '%d-%d' % (cid, r)
        path = '/c%d/r%d' % (cid, r)
        query = 'id=%s&pause=%.3f&at=%s' % (rid, rnd.random() * 0.05,
                                            rnd.choice(WHERE))
        body = bytes(rnd.randrange(256) for _ in range(rnd.randrange(200)))
        want = expect(path, query, rid, body)
        try:
            if proto.startswith('http'):
                if close:
                    s, buf = gwclient.connect(addr), b''
                s.sendall(b'POST %s%s?%s HTTP/1.1\r\nHost: x\r\n'
                          b'X-Id: %s\r\n%sContent-Length: %d\r\n\r\n%s' % (
                              prefix.encode(), path.encode(), query.encode(),
                              rid.encode(), close,
                              len(body), body))
                status, got, buf = http_response(s, buf)
                if close:
                    s.close()
                err = b''
            else:
                env = [(b'REQUEST_METHOD', b'POST'), (b'SCRIPT_NAME', b''),
                       (b'PATH_INFO', path.encode()),
                       (b'QUERY_STRING', query.encode()),
                       (b'HTTP_X_ID', rid.encode()),
                       (b'CONTENT_LENGTH', str(len(body)).encode()),
                       (b'SERVER_NAME', b'x'), (b'SERVER_PORT', b'80'),
                       (b'SERVER_PROTOCOL', b'HTTP/1.1'),
                       (b'GATEWAY_INTERFACE', b'CGI/1.1')]
                c = gwclient.connect(addr)
                if proto == 'fastcgi':
                    c.sendall(gwclient.fcgi_request(env, body))
                    got, err = fcgi_streams(c)
                else:
                    c.sendall((gwclient.scgi_request if proto == 'scgi'
                               else gwclient.uwsgi_request)(env, body))
                    got, err = gwclient.recv_all(c), b''
                c.close()
                got = got.split(b'\r\n\r\n', 1)[1]
            if got != want:
                errors.append('%s: got %r, not %r' % (rid, got, want))
            if proto == 'fastcgi':
                mine = ('request %s\nstderr of %s\n' % (rid, rid)).encode()
                if err != mine:
                    errors.append('%s: STDERR %r' % (rid, err))
        except Exception as e:
            errors.append('%s: %r' % (rid, e))
            return


def fcgi_streams(s):
    out, err = b'', b''
    while True:
        head = gwclient.recv_exact(s, 8)
        n, pad = int.from_bytes(head[4:6], 'big'), head[6]
        content = gwclient.recv_exact(s, n + pad)[:n]
        if head[1] == 6:
            out += content
        elif head[1] == 7:
            err += content
        elif head[1] == 3:
            return out, err


def main(argv):
    proto, addr, clients, rounds = argv[0], argv[1], int(argv[2]), \
        int(argv[3])
    prefix = argv[4] if len(argv) > 4 else ''
    errors = []
    threads = [threading.Thread(target=one, args=(proto, addr, i, rounds,
                                                  errors, prefix))
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in errors[:10]:
        print(e)
    print('ok %d' % (clients * rounds) if not errors else
          '%d of %d wrong' % (len(errors), clients * rounds))
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
