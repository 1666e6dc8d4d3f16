"""Clients that leave at once: each of N sockets sends a burst of datagrams and closes at once,
so the server's replies that come after the close meet closed ports (ICMP port unreachable). A
running server can answer before the close: a caller that needs every reply to meet a closed port
stops the server (SIGSTOP) while this runs.

Usage: departed-clients.py HOST PORT CLIENTS BURST
"""
import socket
import sys

host, port, clients, burst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
for index in range(clients):
    sock = socket.socket(family, socket.SOCK_DGRAM)
    for round_ in range(burst):
        sock.sendto(f"departing {index}/{round_}".encode(), (host, port))
    sock.close()
print(f"sent {clients * burst}")
