"""Sends one datagram from each of COUNT distinct source addresses, then leaves.

Usage: many-sources.py HOST PORT COUNT
IPv4: the sources spread over 127.0.0.0/8 (a different address each, from an ephemeral port).
IPv6: ::1 is the only loopback address, so the sources are ::1 with a different port each.
Replies are not read: the sources are gone by the time they come back. Prints "sent N".
"""
import socket
import sys

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sent = 0
index = 0
while sent < count:
    index += 1
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if family == socket.AF_INET:
            # 127.1.0.1 upwards, never 127.0.0.x: each source its own address.
            sock.bind((f"127.{1 + (index >> 16) % 254}.{(index >> 8) & 0xff}.{index & 0xff or 1}", 0))
        else:
            sock.bind(("::1", 10000 + index % 55000))
    except OSError:
        sock.close()  # that port is in use: take the next
        continue
    sock.sendto(b"from a passing source", (host, port))
    sock.close()
    sent += 1
print(f"sent {sent}")
