"""Fuzz: several clients at once send datagrams of random sizes (0 to 65507 bytes, the edges
included) and random contents; every echo must be exact and complete.

Usage: fuzz-client.py HOST PORT CLIENTS DATAGRAMS SEED
Prints "ok N" with the number of echoes checked.
"""
import random
import socket
import sys
import threading

host, port, clients, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
failures = []
checked = [0] * clients


def client(number: int) -> None:
    rng = random.Random(seed * 1000 + number)
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.settimeout(5)
    edges = [0, 1, 2, 1399, 1400, 1401, 9000, 65506, 65507]
    for index in range(count):
        size = edges[index] if index < len(edges) else rng.choice([rng.randint(0, 64), rng.randint(0, 2048), rng.randint(0, 65507)])
        payload = rng.randbytes(size)
        sock.sendto(payload, (host, port))
        try:
            data, _ = sock.recvfrom(70000)
        except socket.timeout:
            failures.append(f"client {number}: no echo for datagram {index} ({size} bytes)")
            return
        if data != payload:
            failures.append(f"client {number}: datagram {index} ({size} bytes) came back as {len(data)} different bytes")
            return
        checked[number] += 1


threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
if failures:
    sys.exit("\n".join(failures))
print(f"ok {sum(checked)}")
