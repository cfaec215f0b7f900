#!/usr/bin/env python3
"""GRE probe for lab/seed.sh (seed.sh gre-probe): acts as the box on eth3 over
AF_PACKET (no address), sends GRE to the POP, answers gw2's ARP for the box
address and checks the reply. Standard library only."""
import argparse, json, os, select, signal, socket, struct, sys, time

ETH_P_ALL, ETH_P_IP, ETH_P_IPV6, ETH_P_ARP = 0x0003, 0x0800, 0x86DD, 0x0806
PACKET_OUTGOING = 4
GRE_C, GRE_K, GRE_S = 0x8000, 0x2000, 0x1000

def csum16(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF

def mac(s):
    return bytes.fromhex(s.replace(":", ""))

def macs(b):
    return ":".join("%02x" % x for x in b)

def ip4(src, dst, proto, payload, ttl=64, ident=0, df=True):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident,
                    0x4000 if df else 0, ttl, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum16(h)) + h[12:] + payload

def gre_wrap(proto, inner, key, csum, bad_csum=False):
    """GRE header (RFC 2784/2890) + inner. key: None or int."""
    flags = (GRE_C if csum else 0) | (GRE_K if key is not None else 0)
    h = struct.pack("!HH", flags, proto)
    if csum:
        h += b"\0\0\0\0"
    if key is not None:
        h += struct.pack("!I", key)
    g = h + inner
    if csum:
        c = csum16(g) ^ (0x5555 if bad_csum else 0)
        g = g[:4] + struct.pack("!H", c) + g[6:]
    return g

def gre_unwrap(g):
    """(flags, proto, csum_ok or None, key or None, offset of inner)"""
    flags, proto = struct.unpack("!HH", g[:4])
    off, ok, key = 4, None, None
    if flags & GRE_C:
        ok = csum16(g) == 0
        off += 4
    if flags & GRE_K:
        key = struct.unpack("!I", g[off:off + 4])[0]
        off += 4
    if flags & GRE_S:
        off += 4
    return flags, proto, ok, key, off

class Pcap:
    def __init__(self, path):
        self.f = open(path, "wb") if path else None
        if self.f:
            self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    def __call__(self, frame):
        if self.f:
            t = time.time()
            self.f.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(frame), len(frame)) + frame)
    def close(self):
        if self.f:
            self.f.close()

def packet_socket(dev):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((dev, ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    return s

def arp_reply_for(f, local, my_mac):
    """The ARP reply to frame f if it asks for local, else None."""
    if len(f) < 42 or struct.unpack("!H", f[12:14])[0] != ETH_P_ARP:
        return None
    op = struct.unpack("!H", f[20:22])[0]
    sha, spa, tpa = f[22:28], f[28:32], f[38:42]
    if op != 1 or socket.inet_ntoa(tpa) != local:
        return None
    return (f[6:12] + my_mac + struct.pack("!H", ETH_P_ARP) +
            struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, 2) + my_mac + tpa + sha + spa)
ap = argparse.ArgumentParser()
ap.add_argument("--dev", required=True)
ap.add_argument("--src-mac", required=True)      # outer Ethernet source
ap.add_argument("--dst-mac", required=True)      # outer Ethernet destination (gw2)
ap.add_argument("--arp-mac", required=True)      # MAC given in ARP answers for --local
ap.add_argument("--local", required=True)        # the box's address (outer source)
ap.add_argument("--remote", required=True)       # the POP (outer destination)
ap.add_argument("--inner-src", required=True)
ap.add_argument("--inner-dst", required=True)
ap.add_argument("--key", default="none")
ap.add_argument("--csum", type=int, default=0)
ap.add_argument("--bad-csum", type=int, default=0)
ap.add_argument("--size", type=int, default=84)  # inner IP packet length
ap.add_argument("--expect", default="reply")     # reply | none
ap.add_argument("--expect-key", default="none")
ap.add_argument("--expect-csum", type=int, default=0)
ap.add_argument("--count", type=int, default=3)
ap.add_argument("--interval", type=float, default=1.0)
ap.add_argument("--wait", type=float, default=1.5)
ap.add_argument("--pcap", default="")
a = ap.parse_args()

v6 = ":" in a.inner_dst
ident = os.getpid() & 0xFFFF

def inner_packet(seq):
    if v6:
        plen = max(a.size - 40, 8)
        body = bytes((i & 0xFF) for i in range(plen - 8))
        icmp = struct.pack("!BBHHH", 128, 0, 0, ident, seq) + body
        src, dst = (socket.inet_pton(socket.AF_INET6, x) for x in (a.inner_src, a.inner_dst))
        ph = src + dst + struct.pack("!I3xB", len(icmp), 58)
        icmp = icmp[:2] + struct.pack("!H", csum16(ph + icmp)) + icmp[4:]
        return struct.pack("!IHBB", 6 << 28, len(icmp), 58, 64) + src + dst + icmp
    plen = max(a.size - 20, 8)
    body = bytes((i & 0xFF) for i in range(plen - 8))
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + body
    icmp = icmp[:2] + struct.pack("!H", csum16(icmp)) + icmp[4:]
    return ip4(a.inner_src, a.inner_dst, 1, icmp, ident=seq)

def gre_packet(inner):
    return gre_wrap(ETH_P_IPV6 if v6 else ETH_P_IP, inner,
                    None if a.key == "none" else int(a.key), a.csum, a.bad_csum)

def frame(seq):
    outer = ip4(a.local, a.remote, 47, gre_packet(inner_packet(seq)), ident=0x1000 + seq)
    return mac(a.dst_mac) + mac(a.src_mac) + struct.pack("!H", ETH_P_IP) + outer

record = Pcap(a.pcap)

def check_inner(inner, res):
    """Is this our echo reply? Fill res with what it says."""
    if v6:
        if len(inner) < 48 or inner[0] >> 4 != 6 or inner[6] != 58:
            return False
        src = socket.inet_ntop(socket.AF_INET6, inner[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, inner[24:40])
        plen = struct.unpack("!H", inner[4:6])[0]
        icmp = inner[40:40 + plen]
        ph = inner[8:40] + struct.pack("!I3xB", len(icmp), 58)
        typ, code, _, iid, seq = struct.unpack("!BBHHH", icmp[:8])
        if typ != 129 or iid != ident:
            return False
        res.update(inner_src=src, inner_dst=dst, inner_ttl=inner[7], inner_len=40 + plen,
                   inner_ip_csum_ok=True, icmp_csum_ok=csum16(ph + icmp) == 0, seq=seq)
        return True
    if len(inner) < 28 or inner[0] >> 4 != 4 or inner[9] != 1:
        return False
    ihl = (inner[0] & 15) * 4
    tot = struct.unpack("!H", inner[2:4])[0]
    icmp = inner[ihl:tot]
    typ, code, _, iid, seq = struct.unpack("!BBHHH", icmp[:8])
    if typ != 0 or iid != ident:
        return False
    res.update(inner_src=socket.inet_ntoa(inner[12:16]), inner_dst=socket.inet_ntoa(inner[16:20]),
               inner_ttl=inner[8], inner_len=tot, inner_ip_csum_ok=csum16(inner[:ihl]) == 0,
               icmp_csum_ok=csum16(icmp) == 0, seq=seq)
    return True

def parse_gre(f):
    """A GRE/IPv4 frame from the POP to us: dict of what it carries, else None."""
    if len(f) < 14 + 20 + 4 or struct.unpack("!H", f[12:14])[0] != ETH_P_IP:
        return None
    ip = f[14:]
    ihl = (ip[0] & 15) * 4
    if ip[9] != 47 or socket.inet_ntoa(ip[12:16]) != a.remote or socket.inet_ntoa(ip[16:20]) != a.local:
        return None
    tot = struct.unpack("!H", ip[2:4])[0]
    fl = struct.unpack("!H", ip[6:8])[0]
    g = ip[ihl:tot]
    flags, proto = struct.unpack("!HH", g[:4])
    r = {"eth_src": macs(f[6:12]), "eth_dst": macs(f[0:6]),
         "outer_len": tot, "outer_ttl": ip[8], "outer_id": struct.unpack("!H", ip[4:6])[0],
         "outer_df": bool(fl & 0x4000), "outer_ip_csum_ok": csum16(ip[:ihl]) == 0,
         "gre_flags": "0x%04x" % flags, "gre_version": flags & 7, "gre_proto": "0x%04x" % proto,
         "gre_csum": None, "gre_csum_ok": None, "gre_key": None, "gre_seq": None}
    off = 4
    if flags & GRE_C:
        r["gre_csum"] = "0x%04x" % struct.unpack("!H", g[4:6])[0]
        r["gre_csum_ok"] = csum16(g) == 0
        off += 4
    if flags & GRE_K:
        r["gre_key"] = struct.unpack("!I", g[off:off + 4])[0]
        off += 4
    if flags & GRE_S:
        r["gre_seq"] = struct.unpack("!I", g[off:off + 4])[0]
        off += 4
    r["ours"] = check_inner(g[off:], r)
    return r

def arp_answer(s, f):
    """Answer an ARP request for --local, as the box would. True if answered."""
    rep = arp_reply_for(f, a.local, mac(a.arp_mac))
    if rep is None:
        return False
    record(f)
    s.send(rep)
    record(rep)
    print("probe: ARP who-has %s tell %s (%s): answered %s" % (
        a.local, socket.inet_ntoa(f[28:32]), macs(f[22:28]), a.arp_mac))
    return True

s = packet_socket(a.dev)

flags = []
if a.key != "none":
    flags.append("key %s" % a.key)
if a.csum:
    flags.append("bad checksum" if a.bad_csum else "checksum")
print("probe: on %s, GRE %s -> %s (%s), inner ICMP%s echo %s -> %s, %d bytes, outer eth %s -> %s" % (
    a.dev, a.local, a.remote, ", ".join(flags) or "no key, no checksum", "v6" if v6 else "",
    a.inner_src, a.inner_dst, a.size, a.src_mac, a.dst_mac))

reply, others, sent, arps, send_error = None, [], 0, 0, None
next_send, deadline = time.time(), None
while True:
    now = time.time()
    if reply and a.expect == "reply":
        break
    if sent < a.count and now >= next_send:
        f = frame(sent + 1)
        try:
            s.send(f)
        except OSError as e:
            send_error = "cannot send a %d-byte frame on %s: %s (MTU?)" % (len(f), a.dev, e.strerror)
            print("probe: " + send_error)
            break
        record(f)
        sent += 1
        next_send = now + a.interval
        if sent == a.count:
            deadline = now + a.wait
    if deadline and now >= deadline:
        break
    wake = min(x for x in (next_send if sent < a.count else None, deadline) if x is not None)
    r, _, _ = select.select([s], [], [], max(0.0, wake - time.time()))
    if not r:
        continue
    f, addr = s.recvfrom(65535)
    if addr[2] == PACKET_OUTGOING:
        continue
    if arp_answer(s, f):
        arps += 1
        continue
    g = parse_gre(f)
    if g is None:
        continue
    record(f)
    if g["ours"] and reply is None:
        g["after_sends"] = sent
        reply = g
    elif not g["ours"]:
        others.append(g)

record.close()

problems = [send_error] if send_error else []
if send_error:
    pass
elif a.expect == "reply":
    if not reply:
        problems.append("no GRE reply within %d probes" % sent)
    else:
        want_key = None if a.expect_key == "none" else int(a.expect_key)
        if reply["gre_key"] != want_key:
            problems.append("key %s, expected %s" % (reply["gre_key"], want_key))
        if bool(reply["gre_csum"]) != bool(a.expect_csum):
            problems.append("checksum present=%s, expected %s" % (bool(reply["gre_csum"]), bool(a.expect_csum)))
        if reply["gre_csum"] and not reply["gre_csum_ok"]:
            problems.append("GRE checksum does not verify")
        if reply["gre_version"] != 0:
            problems.append("GRE version %d" % reply["gre_version"])
        if reply["gre_proto"] != ("0x86dd" if v6 else "0x0800"):
            problems.append("GRE protocol %s" % reply["gre_proto"])
        if not reply["outer_ip_csum_ok"]:
            problems.append("outer IPv4 checksum wrong")
        if not reply["inner_ip_csum_ok"] or not reply["icmp_csum_ok"]:
            problems.append("inner checksum wrong")
        if reply["inner_src"] != a.inner_dst or reply["inner_dst"] != a.inner_src:
            problems.append("inner addresses %s -> %s" % (reply["inner_src"], reply["inner_dst"]))
        if reply["eth_dst"] != a.arp_mac:
            problems.append("reply sent to %s, not to the MAC answered in ARP" % reply["eth_dst"])
        if reply["inner_len"] != a.size:
            problems.append("inner length %d, sent %d" % (reply["inner_len"], a.size))
        print("probe: reply after %d probe(s): eth %s -> %s, outer %s -> %s len %d ttl %d id %d df %s ip-csum %s" % (
            reply["after_sends"], reply["eth_src"], reply["eth_dst"], a.remote, a.local, reply["outer_len"],
            reply["outer_ttl"], reply["outer_id"], reply["outer_df"], "ok" if reply["outer_ip_csum_ok"] else "BAD"))
        print("probe:   GRE flags %s ver %d proto %s key %s csum %s%s" % (
            reply["gre_flags"], reply["gre_version"], reply["gre_proto"], reply["gre_key"], reply["gre_csum"],
            "" if reply["gre_csum"] is None else (" (verifies)" if reply["gre_csum_ok"] else " (WRONG)")))
        print("probe:   inner echo reply %s -> %s len %d ttl %d seq %d, checksums %s" % (
            reply["inner_src"], reply["inner_dst"], reply["inner_len"], reply["inner_ttl"], reply["seq"],
            "ok" if reply["inner_ip_csum_ok"] and reply["icmp_csum_ok"] else "BAD"))
else:
    if reply:
        problems.append("a GRE reply came back (key %s csum %s) but none was expected" % (reply["gre_key"], reply["gre_csum"]))
    else:
        print("probe: no GRE reply to %d probe(s), as expected" % sent)
if others:
    print("probe: %d other GRE frame(s) from %s seen" % (len(others), a.remote))
print("PROBE " + json.dumps({"ok": not problems, "expect": a.expect, "sent": sent, "arp_answered": arps,
                             "problems": problems, "reply": reply}, sort_keys=True))
sys.exit(0 if not problems else 1)
