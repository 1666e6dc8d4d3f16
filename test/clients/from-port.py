"""Sends datagrams from a chosen source address and port, and reports how many echoes came back.

Usage: from-port.py HOST PORT SOURCE_PORT COUNT [SOURCE_HOST [MARKER_HOST]]
Sends COUNT datagrams from SOURCE_HOST:SOURCE_PORT (default HOST; port 0: any), then marker
datagrams from MARKER_HOST (default HOST), any port, until one is echoed (see marker.py): the
server handles its socket's datagrams in order, so by then every echo of the COUNT has been
sent, and they are counted from what waits on the socket. The marker's source must not share
the first source's treatment (its rate limit, its refusal): pass a MARKER_HOST for that.
Prints "echoes N markers M".
"""
import os
import socket
import subprocess
import sys

host, port, source, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
source_host = sys.argv[5] if len(sys.argv) > 5 else host
marker_host = sys.argv[6] if len(sys.argv) > 6 else host
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
sock.bind((source_host, source))
for index in range(count):
    sock.sendto(f"datagram {index}".encode(), (host, port))
marker = subprocess.run(
    [sys.executable, os.path.join(os.path.dirname(__file__), "marker.py"), host, str(port), marker_host],
    capture_output=True,
    text=True,
)
if marker.returncode != 0:
    sys.exit(marker.stderr.strip())
sock.setblocking(False)
echoes = 0
while True:
    try:
        sock.recvfrom(2048)
        echoes += 1
    except BlockingIOError:
        break
print(f"echoes {echoes} {marker.stdout.strip()}")
