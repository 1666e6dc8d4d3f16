"""A UDP echo client in Python's standard library, for the end-to-end tests.

Usage: python-client.py HOST PORT SIZE [SIZE ...]
Sends one datagram of each size (deterministic pseudo-random bytes), checks that the echo is
byte for byte the same and comes from the server's address, and prints one line per size.
"""
import random
import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.settimeout(5)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
for size in map(int, sys.argv[3:]):
    payload = random.Random(size).randbytes(size)
    sock.sendto(payload, (host, port))
    data, peer = sock.recvfrom(70000)
    if data != payload:
        sys.exit(f"size {size}: echo differs ({len(data)} bytes back)")
    if peer[1] != port:
        sys.exit(f"size {size}: echo came from port {peer[1]}")
    print(f"ok {size}")
