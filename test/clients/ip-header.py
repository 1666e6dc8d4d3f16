#!/usr/bin/env python3
"""Prints the TTL (hop limit) and TOS (traffic class) of each datagram it receives, as JSON.

Usage: ip-header.py FAMILY [COUNT [GROUP IFACE]]. Binds the wildcard address of FAMILY (4 or 6)
on a port the kernel picks (joining multicast GROUP on interface IFACE if given), prints
{"port": P}, then one {"ttl": T, "tos": S, "text": ...} per datagram, for COUNT datagrams
(default 1). The receiving side of test/ip-layer.test.ts: what the sender set is
read from the IP header the kernel received, through IP_RECVTTL/IP_RECVTOS or
IPV6_RECVHOPLIMIT/IPV6_RECVTCLASS.
"""
import json
import socket
import struct
import sys

family = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1
sock = socket.socket(family, socket.SOCK_DGRAM)
if family == socket.AF_INET6:
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVTCLASS, 1)
    sock.bind(("::", 0))
else:
    # Python names no IP_RECVTTL; Linux numbers it 12 (linux/in.h).
    sock.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_RECVTTL", 12), 1)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
    sock.bind(("0.0.0.0", 0))
if len(sys.argv) > 4:
    group, index = sys.argv[3], socket.if_nametoindex(sys.argv[4])
    if family == socket.AF_INET6:
        request = struct.pack("=16sI", socket.inet_pton(family, group), index)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, request)
    else:
        request = struct.pack("=4s4si", socket.inet_aton(group), b"\0\0\0\0", index)  # ip_mreqn
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, request)
sock.settimeout(30)
print(json.dumps({"port": sock.getsockname()[1]}), flush=True)
for _ in range(count):
    data, ancillary, _flags, _peer = sock.recvmsg(2048, 256)
    seen = {"text": data.decode()}
    for level, kind, value in ancillary:
        number = int.from_bytes(value[:4] if len(value) >= 4 else value, sys.byteorder)
        if (level, kind) in ((socket.IPPROTO_IP, socket.IP_TTL), (socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT)):
            seen["ttl"] = number
        elif (level, kind) in ((socket.IPPROTO_IP, socket.IP_TOS), (socket.IPPROTO_IPV6, socket.IPV6_TCLASS)):
            seen["tos"] = value[0] if level == socket.IPPROTO_IP else number
    print(json.dumps(seen), flush=True)
