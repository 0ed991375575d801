"""Slow and idle HTTP clients for the tests: opens N connections of a KIND
to HOST:PORT and leaves them as they are, then makes one normal request
on a new connection (waiting at most --wait seconds for its answer),
prints that answer, then "open: K", how many of the N connections the
server still holds, and closes them all.

KIND is one of
  silent  connected, nothing sent
  head    half a request head
  body    a whole head, and 3 of a body's 10 bytes (Content-Length: 10)
  idle    a whole request answered, the connection kept and idle

Usage: slowclients.py HOST:PORT N KIND [--wait S]
"""
import socket
import sys
import time

PARTS = {
    'silent': b'',
    'head': b'GET /slow HTTP/1.1\r\nHost: h\r\nX-A',
    'body': b'POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc',
    'idle': b'GET /idle HTTP/1.1\r\nHost: h\r\n\r\n',
}


def answer(s, wait):
    """What comes back on s until it closes or wait seconds pass."""
    s.settimeout(wait)
    out = b''
    end = time.monotonic() + wait
    try:
        while time.monotonic() < end:
            b = s.recv(65536)
            if not b:
                break
            out += b
            if kind_done(out):
                break
    except (socket.timeout, ConnectionResetError):
        pass
    return out


def kind_done(out):
    """A whole response with a Content-Length has arrived."""
    head, sep, body = out.partition(b'\r\n\r\n')
    if not sep:
        return False
    for line in head.split(b'\r\n')[1:]:
        name, _, value = line.partition(b':')
        if name.strip().lower() == b'content-length':
            return len(body) >= int(value)
    return False


def main():
    host, port = sys.argv[1].rsplit(':', 1)
    n, kind = int(sys.argv[2]), sys.argv[3]
    wait = float(sys.argv[5]) if sys.argv[4:5] == ['--wait'] else 10.0
    addr = (host, int(port))
    held = []
    for _ in range(n):
        s = socket.create_connection(addr)
        s.sendall(PARTS[kind])
        if kind == 'idle':
            answer(s, wait)
        held.append(s)
    time.sleep(0.2)
    s = socket.create_connection(addr)
    s.sendall(b'GET /ok HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
    out = answer(s, wait)
    s.close()
    sys.stdout.write(out.decode('latin-1').replace('\r\n', '\n'))
    if not out.endswith(b'\n'):
        sys.stdout.write('\n')
    still = 0
    for s in held:
        s.setblocking(False)
        try:
            still += s.recv(1) != b''
        except BlockingIOError:
            still += 1
        except OSError:
            pass
        s.close()
    print('open: %d' % still)


if __name__ == '__main__':
    main()
