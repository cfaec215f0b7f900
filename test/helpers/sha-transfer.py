#!/usr/bin/env python3
"""Bounded TCP transfer with a sha256 on both ends (end-to-end tests).

  sha-transfer.py recv HOST PORT SECONDS   -> prints "<bytes> <sha256>" of what arrived
  sha-transfer.py send HOST PORT MBYTES    -> sends seeded pseudo-random data, prints "<bytes> <sha256>"
  sha-transfer.py serve HOST PORT MBYTES SECONDS -> listens, sends to the first client, prints "<bytes> <sha256>"
  sha-transfer.py fetch HOST PORT          -> connects, prints "<bytes> <sha256>" of what arrived

serve/fetch let the receiving side open the connection (a flow the box must
have seen leave before the data comes back).
"""
import hashlib
import random
import socket
import sys


def drain(conn):
    h, n = hashlib.sha256(), 0
    while True:
        b = conn.recv(65536)
        if not b:
            break
        h.update(b)
        n += len(b)
    return n, h.hexdigest()


def pour(s, mbytes):
    rnd = random.Random(2784)
    h, n = hashlib.sha256(), 0
    for _ in range(mbytes * 16):
        b = rnd.randbytes(65536)
        s.sendall(b)
        h.update(b)
        n += len(b)
    return n, h.hexdigest()


def accept_one(host, port, seconds):
    srv = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(1)
    srv.settimeout(seconds)
    print("ready", flush=True)
    conn, _ = srv.accept()
    conn.settimeout(seconds)
    return conn


def serve(host, port, mbytes, seconds):
    conn = accept_one(host, port, seconds)
    n, d = pour(conn, mbytes)
    conn.shutdown(socket.SHUT_WR)
    conn.recv(1)
    conn.close()
    print(n, d, flush=True)


def fetch(host, port):
    s = socket.create_connection((host, port), timeout=30)
    n, d = drain(s)
    s.close()
    print(n, d, flush=True)


def recv(host, port, seconds):
    n, d = drain(accept_one(host, port, seconds))
    print(n, d, flush=True)


def send(host, port, mbytes):
    s = socket.create_connection((host, port), timeout=30)
    n, d = pour(s, mbytes)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    s.close()
    print(n, d, flush=True)


if __name__ == "__main__":
    cmd, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if cmd == "recv":
        recv(host, port, float(sys.argv[4]))
    elif cmd == "send":
        send(host, port, int(sys.argv[4]))
    elif cmd == "serve":
        serve(host, port, int(sys.argv[4]), float(sys.argv[5]))
    elif cmd == "fetch":
        fetch(host, port)
    else:
        sys.exit("usage: sha-transfer.py recv|send|serve|fetch HOST PORT ...")
