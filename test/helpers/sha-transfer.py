#!/usr/bin/env python3
"""Bounded TCP transfer with a sha256 on both ends (end-to-end tests).

  sha-transfer.py recv HOST PORT SECONDS   -> prints "<bytes> <sha256>" of what arrived
  sha-transfer.py send HOST PORT MBYTES    -> sends seeded pseudo-random data, prints "<bytes> <sha256>"
"""
import hashlib
import random
import socket
import sys


def recv(host, port, seconds):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(1)
    srv.settimeout(seconds)
    print("ready", flush=True)
    conn, _ = srv.accept()
    conn.settimeout(seconds)
    h, n = hashlib.sha256(), 0
    while True:
        b = conn.recv(65536)
        if not b:
            break
        h.update(b)
        n += len(b)
    print(n, h.hexdigest(), flush=True)


def send(host, port, mbytes):
    rnd = random.Random(2784)
    s = socket.create_connection((host, port), timeout=30)
    h, n = hashlib.sha256(), 0
    for _ in range(mbytes * 16):
        b = rnd.randbytes(65536)
        s.sendall(b)
        h.update(b)
        n += len(b)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    s.close()
    print(n, h.hexdigest(), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "recv":
        recv(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
