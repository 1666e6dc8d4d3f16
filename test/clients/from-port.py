"""Sends datagrams from a chosen source port and reports how many echoes come back.

Usage: from-port.py HOST PORT SOURCE_PORT COUNT WAIT_SECONDS
Prints "echoes N".
"""
import socket
import sys
import time

host, port, source, count, wait = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind((host, source))
for index in range(count):
    sock.sendto(f"datagram {index}".encode(), (host, port))
sock.settimeout(0.05)
echoes = 0
deadline = time.monotonic() + wait
while time.monotonic() < deadline:
    try:
        sock.recvfrom(2048)
        echoes += 1
    except socket.timeout:
        pass
print(f"echoes {echoes}")
