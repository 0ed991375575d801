"""Late clients for the tests: N requests from THREADS threads to
HOST:PORT, each on its own connection that waits DELAY seconds after
connecting before it sends `GET PATH HTTP/1.1` (as a client behind a slow
link or a TLS handshake does), then reads to the end.  Prints one line a
kind of outcome, "COUNT STATUS-LINE" (or EMPTY, or the exception's name),
sorted.

Usage: lateload.py HOST:PORT N THREADS DELAY [PATH]
"""
import collections
import socket
import sys
import threading
import time


def one(host, port, delay, path, out, lock):
    try:
        s = socket.create_connection((host, port), timeout=30)
        time.sleep(delay)
        s.sendall(b'GET %s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'
                  % path.encode())
        got = b''
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
        s.close()
        what = got.split(b'\r\n', 1)[0].decode('latin-1') if got else 'EMPTY'
    except OSError as e:
        what = type(e).__name__
    with lock:
        out[what] += 1


def main():
    host, port = sys.argv[1].rsplit(':', 1)
    n, threads, delay = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    path = sys.argv[5] if len(sys.argv) > 5 else '/'
    out, lock = collections.Counter(), threading.Lock()
    left = iter(range(n))

    def worker():
        for _ in left:
            one(host, int(port), delay, path, out, lock)

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for what, k in sorted(out.items()):
        print(k, what)


if __name__ == '__main__':
    main()
