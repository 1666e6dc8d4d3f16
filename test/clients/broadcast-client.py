"""A client that sends to a subnet's broadcast address, for the end-to-end tests.

Usage: broadcast-client.py BROADCAST PORT
Sends one datagram to BROADCAST:PORT (with SO_BROADCAST) and waits up to five seconds for an
answer. Prints `from ADDRESS` with the address the echo came from, or `none` if nothing came.
"""
import socket
import sys

broadcast, port = sys.argv[1], int(sys.argv[2])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
sock.settimeout(5)
sock.sendto(b"anyone there?", (broadcast, port))
try:
    payload, (address, _) = sock.recvfrom(100)
    if payload != b"anyone there?":
        sys.exit("the echo differs")
    print(f"from {address}")
except socket.timeout:
    print("none")
