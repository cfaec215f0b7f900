#!/usr/bin/env python3
# Reachability probes for the router's reference-model test
# (test/netns/router-model.test.ts): what a client sees of each flow.
#   serve ADDR TCP_PORT UDP_PORT SECONDS   answer each TCP connection / UDP
#                                          datagram with the peer's address
#   probe JSON                             one outcome per flow, as JSON:
#     ok:<address the server saw> | refused | unreach | timeout
#   (a timeout is tried once more: reachability, not a lost first packet,
#   is what is compared)
# Flows: [{"proto": "tcp"|"udp"|"icmp", "dst": "a.b.c.d", "port": N}, ...]
import errno, json, socket, subprocess, sys, threading, time

def serve(addr, tport, uport, secs):
    end = time.time() + secs
    t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind((addr, tport)); t.listen(64); t.settimeout(0.5)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((addr, uport)); u.settimeout(0.5)
    def udp():
        while time.time() < end:
            try:
                _, a = u.recvfrom(64); u.sendto(a[0].encode(), a)
            except socket.timeout:
                pass
    threading.Thread(target=udp, daemon=True).start()
    print('ready', flush=True)
    while time.time() < end:
        try:
            c, a = t.accept()
        except socket.timeout:
            continue
        c.sendall(a[0].encode()); c.close()

def failure(e):
    if isinstance(e, socket.timeout): return 'timeout'
    if isinstance(e, ConnectionRefusedError): return 'refused'
    if getattr(e, 'errno', None) in (errno.EHOSTUNREACH, errno.ENETUNREACH): return 'unreach'
    return 'error:%s' % e

def probe(f, wait=1.0):
    # Linux hands a socket only "hard" ICMP errors unless it asks for all (IP_RECVERR): host
    # unreachable is soft. TCP: an error that beats connect() out of the kernel (sub-ms here) is
    # kept soft too; the SYN sent again after 1 s gets its own, so TCP waits past that.
    if f['proto'] == 'icmp':
        r = subprocess.run(['ping', '-n', '-c', '1', '-W', str(wait), f['dst']], capture_output=True, text=True)
        if ' 1 received' in r.stdout: return 'ok'
        return 'unreach' if 'Unreachable' in r.stdout else 'timeout'
    kind = socket.SOCK_STREAM if f['proto'] == 'tcp' else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind); s.settimeout(wait if kind == socket.SOCK_DGRAM else 2.5)
    s.setsockopt(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR (linux/in.h), not in Python's socket module
    try:
        s.connect((f['dst'], f['port']))
        if kind == socket.SOCK_DGRAM: s.send(b'x')
        d = s.recv(64)
        return 'ok:' + d.decode()
    except Exception as e:
        return failure(e)
    finally:
        s.close()

if sys.argv[1] == 'serve':
    serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
else:
    print(json.dumps([(lambda o: probe(f) if o == 'timeout' else o)(probe(f)) for f in json.loads(sys.argv[2])]))
