"""Sends marker datagrams to an echo server until one comes back, to know that the server has
handled everything sent to it before: it handles one socket's datagrams in order, so a marker's
echo follows every echo (and every drop) of what was queued ahead of it.

Usage: marker.py HOST PORT [SOURCE_HOST]
A marker that finds the server's receive buffer full is dropped by the kernel, so one is sent
every 0.2 s until an echo comes, for at most 30 s. Prints "markers N": how many were sent (the
server counts each it received in its totals). Exits 1 if none came back.
"""
import socket
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
source = sys.argv[3] if len(sys.argv) > 3 else host
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.bind((source, 0))
sock.settimeout(0.2)
sent = 0
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    sock.sendto(b"marker", (host, port))
    sent += 1
    try:
        data, _ = sock.recvfrom(2048)
    except socket.timeout:
        continue
    if data == b"marker":
        print(f"markers {sent}")
        sys.exit(0)
sys.exit(f"no marker came back in 30 s ({sent} sent)")
