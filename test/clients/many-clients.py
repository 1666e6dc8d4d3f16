"""Many UDP clients at once, for the end-to-end tests.

Usage: many-clients.py HOST PORT CLIENTS ROUNDS
Opens CLIENTS sockets; every round, each sends a datagram that names it and the round, all
before any reply is read; then each must receive exactly its own echoes. Prints "ok" and the
number of echoes.
"""
import select
import socket
import sys
import time

host, port, clients, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
socks = [socket.socket(family, socket.SOCK_DGRAM) for _ in range(clients)]
for sock in socks:
    sock.setblocking(False)
expected = {sock.fileno(): set() for sock in socks}
for rnd in range(rounds):
    for index, sock in enumerate(socks):
        payload = f"client {index} round {rnd}".encode()
        sock.sendto(payload, (host, port))
        expected[sock.fileno()].add(payload)
by_fd = {sock.fileno(): sock for sock in socks}
deadline = time.monotonic() + 10
received = 0
while any(expected.values()):
    if time.monotonic() > deadline:
        missing = sum(len(v) for v in expected.values())
        sys.exit(f"{missing} echoes missing after 10 s")
    ready, _, _ = select.select(list(by_fd), [], [], 1)
    for fd in ready:
        data, _peer = by_fd[fd].recvfrom(2048)
        if data not in expected[fd]:
            sys.exit(f"socket {fd} received {data!r}, which is not one of its own")
        expected[fd].remove(data)
        received += 1
print(f"ok {received}")
