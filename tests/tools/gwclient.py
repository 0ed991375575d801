#!/usr/bin/python3
"""A gateway client for the tests: sends one request (or several on one
FastCGI connection) over FastCGI, SCGI or uwsgi, as a web server would, and
writes what comes back to stdout: the response bytes (FastCGI: the STDOUT
stream; END_REQUEST's app status on stderr as "end: APP PROTOCOL").

    gwclient.py PROTO ADDR [NAME=VALUE...] [--body FILE] [--repeat N]
                [--raw FILE]

PROTO is fastcgi, scgi or uwsgi; ADDR a Unix socket path or HOST:PORT.
--raw sends FILE's bytes as they are and prints what comes back."""
import os
import socket
import struct
import sys


def connect(addr):
    if addr.startswith('/'):
        s = socket.socket(socket.AF_UNIX)
        s.connect(addr)
    else:
        host, port = addr.rsplit(':', 1)
        s = socket.create_connection((host, int(port)))
    s.settimeout(30)
    return s


def recv_all(s):
    chunks = []
    while True:
        b = s.recv(65536)
        if not b:
            return b''.join(chunks)
        chunks.append(b)


def recv_exact(s, n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError('connection closed after %d of %d bytes'
                           % (len(b), n))
        b += c
    return b


def fcgi_len(n):
    return bytes([n]) if n < 128 else struct.pack('>I', n | 0x80000000)


def fcgi_record(type_, rid, content, padding=0):
    return (struct.pack('>BBHHBx', 1, type_, rid, len(content), padding)
            + content + b'\0' * padding)


def fcgi_request(env, body, rid=1, keep=False):
    out = fcgi_record(1, rid, struct.pack('>HB5x', 1, 1 if keep else 0))
    pairs = b''.join(fcgi_len(len(k)) + fcgi_len(len(v)) + k + v
                     for k, v in env)
    for i in range(0, len(pairs), 65535):
        out += fcgi_record(4, rid, pairs[i:i + 65535], padding=3)
    out += fcgi_record(4, rid, b'')
    for i in range(0, len(body), 65535):
        out += fcgi_record(5, rid, body[i:i + 65535])
    out += fcgi_record(5, rid, b'')
    return out


def fcgi_response(s, rid=1):
    stdout = []
    while True:
        head = recv_exact(s, 8)
        _, type_, got, length, padding = struct.unpack('>BBHHBx', head)
        content = recv_exact(s, length)
        recv_exact(s, padding)
        if type_ == 6 and got == rid:
            stdout.append(content)
        elif type_ == 7:
            sys.stderr.buffer.write(content)
        elif type_ == 3 and got == rid:
            app, proto = struct.unpack('>IB3x', content)
            print('end: %d %d' % (app, proto), file=sys.stderr)
            return b''.join(stdout)
        else:
            print('record: type %d id %d %r' % (type_, got, content),
                  file=sys.stderr)


def scgi_request(env, body):
    env = [(b'CONTENT_LENGTH', str(len(body)).encode()), (b'SCGI', b'1')] \
        + [(k, v) for k, v in env if k not in (b'CONTENT_LENGTH', b'SCGI')]
    head = b''.join(k + b'\0' + v + b'\0' for k, v in env)
    return str(len(head)).encode() + b':' + head + b',' + body


def uwsgi_request(env, body):
    env = [(b'CONTENT_LENGTH', str(len(body)).encode())] \
        + [(k, v) for k, v in env if k != b'CONTENT_LENGTH']
    vars_ = b''.join(struct.pack('<H', len(k)) + k + struct.pack('<H', len(v))
                     + v for k, v in env)
    return struct.pack('<BHB', 0, len(vars_), 0) + vars_ + body


def main(argv):
    proto, addr = argv[0], argv[1]
    env = [(b'GATEWAY_INTERFACE', b'CGI/1.1'), (b'REQUEST_METHOD', b'GET'),
           (b'SERVER_PROTOCOL', b'HTTP/1.1'), (b'SERVER_NAME', b'localhost'),
           (b'SERVER_PORT', b'80'), (b'SCRIPT_NAME', b''),
           (b'PATH_INFO', b'/'), (b'QUERY_STRING', b'')]
    body, repeat, raw = b'', 1, None
    args = argv[2:]
    while args:
        a = args.pop(0)
        if a == '--body':
            with open(args.pop(0), 'rb') as f:
                body = f.read()
        elif a == '--repeat':
            repeat = int(args.pop(0))
        elif a == '--raw':
            with open(args.pop(0), 'rb') as f:
                raw = f.read()
        else:
            k, v = os.fsencode(a).split(b'=', 1)
            env = [(n, x) for n, x in env if n != k] + [(k, v)]
    s = connect(addr)
    out = sys.stdout.buffer
    if raw is not None:
        s.sendall(raw)
        s.shutdown(socket.SHUT_WR)
        out.write(recv_all(s))
        return 0
    if proto == 'fastcgi':
        if body:
            env = [(n, x) for n, x in env if n != b'CONTENT_LENGTH'] + \
                [(b'CONTENT_LENGTH', str(len(body)).encode())]
        for i in range(repeat):
            s.sendall(fcgi_request(env, body, rid=1, keep=i < repeat - 1))
            out.write(fcgi_response(s))
            out.flush()
        return 0
    s.sendall((scgi_request if proto == 'scgi' else uwsgi_request)(env, body))
    got = recv_all(s)
    out.write(got)
    if not got:
        # Every response has a status line: none is a refusal.
        print('the connection closed with no response', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
