"""A well-behaved client: RATE datagrams per second for SECONDS, each waiting for its echo.

Usage: steady-client.py HOST PORT RATE SECONDS
Prints "sent N echoed M late L": late counts echoes that took longer than 200 ms.
"""
import socket
import sys
import time

host, port, rate, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.connect((host, port))
sock.settimeout(1.0)
sent = echoed = late = 0
start = time.monotonic()
while time.monotonic() - start < seconds:
    payload = f"steady {sent}".encode()
    sent_at = time.monotonic()
    sock.send(payload)
    sent += 1
    try:
        while sock.recv(100) != payload:
            pass
        echoed += 1
        if time.monotonic() - sent_at > 0.2:
            late += 1
    except socket.timeout:
        pass
    time.sleep(max(0.0, start + sent / rate - time.monotonic()))
print(f"sent {sent} echoed {echoed} late {late}")
