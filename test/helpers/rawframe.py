#!/usr/bin/env python3
"""Send or receive one raw Ethernet frame on an interface (AF_PACKET).

  rawframe.py send IFACE HEX            send the frame as it is
  rawframe.py recv IFACE MARKER_HEX SECONDS
      print (hex) the first frame whose bytes contain MARKER, re-inserting a
      VLAN tag the kernel moved into metadata (as libpcap does); exit 1 if
      none arrives in time.

Used by the end-to-end tests: this kernel has no VLAN devices, so tagged
frames are sent and checked raw.
"""
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6


def send(iface, frame):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    s.send(frame)


def recv(iface, marker, seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind((iface, 0))
    print("ready", flush=True)
    deadline = time.time() + seconds
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], max(0.0, deadline - time.time()))
        if not r:
            break
        data, anc, _, addr = s.recvmsg(65536, socket.CMSG_SPACE(20))
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        for level, kind, raw in anc:
            if level == SOL_PACKET and kind == PACKET_AUXDATA:
                status, _, _, _, _, tci, tpid = struct.unpack("IIIHHHH", raw[:20])
                if status & TP_STATUS_VLAN_VALID:
                    if not status & TP_STATUS_VLAN_TPID_VALID:
                        tpid = 0x8100
                    data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
        if marker in data:
            print(data.hex(), flush=True)
            return 0
    return 1


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], bytes.fromhex(sys.argv[3]))
        sys.exit(0)
    sys.exit(recv(sys.argv[2], bytes.fromhex(sys.argv[3]), float(sys.argv[4])))
