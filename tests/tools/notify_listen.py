#!/usr/bin/python3
"""A NOTIFY_SOCKET of the test's own, as systemd's: binds a datagram
socket at PATH, prints "bound" once it is, then appends every message
received to FILE, its lines joined by "|", one message a line.

    notify_listen.py PATH FILE
"""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if os.path.exists(path):
    os.unlink(path)
s.bind(path)
print('bound', flush=True)
while True:
    msg = s.recv(4096).decode()
    with open(out, 'a') as f:
        f.write('|'.join(msg.strip('\n').split('\n')) + '\n')
