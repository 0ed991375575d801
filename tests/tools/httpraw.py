"""Raw HTTP for the tests: sends the bytes given (Python escapes, so
'\\r\\n' is CRLF) to HOST:PORT, in one write or, with --pieces N, in N
parts with a pause between, then prints every byte received until the
server closes or --wait seconds pass without a byte.  Prints
"[closed]" when the server closed the connection.  With --head-first the
head (up to its blank line) goes at once, and only the rest in pieces.

Usage: httpraw.py HOST:PORT BYTES [--wait S] [--pieces N] [--delay S]
                  [--head-first]
"""
import codecs
import socket
import sys
import time


def main():
    host, port = sys.argv[1].rsplit(':', 1)
    data = codecs.escape_decode(sys.argv[2].encode())[0]
    wait = 2.0
    pieces = 1
    delay = 0.05
    head = b''
    args = sys.argv[3:]
    if '--head-first' in args:
        args.remove('--head-first')
        end = data.index(b'\r\n\r\n') + 4
        head, data = data[:end], data[end:]
    while args:
        if args[0] == '--wait':
            wait = float(args[1])
        elif args[0] == '--pieces':
            pieces = int(args[1])
        elif args[0] == '--delay':
            delay = float(args[1])
        args = args[2:]
    s = socket.create_connection((host, int(port)))
    step = max(1, -(-len(data) // pieces))
    try:
        s.sendall(head)
        for i in range(0, len(data), step):
            s.sendall(data[i:i + step])
            if pieces > 1:
                time.sleep(delay)
    except (BrokenPipeError, ConnectionResetError):
        pass
    s.settimeout(wait)
    out = b''
    closed = False
    try:
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                b = b''
            if not b:
                closed = True
                break
            out += b
    except socket.timeout:
        pass
    text = out.decode('latin-1').replace('\r\n', '\\r\n')
    sys.stdout.write(text)
    if closed:
        sys.stdout.write('%s[closed]\n' % ('' if text.endswith('\n') or
                                           not text else '\n'))


if __name__ == '__main__':
    main()
