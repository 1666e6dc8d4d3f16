"""Connected UDP clients, as DNS stubs, `socat UDP:…` and `nc -u` are, for the end-to-end tests.

Usage: connected-client.py PORT SOCKETS ADDRESS [ADDRESS ...]
For each address, opens SOCKETS sockets, connects each to ADDRESS:PORT (so that the kernel
accepts datagrams from that address and port only), sends one datagram and waits up to two
seconds for its echo. Prints `ok ADDRESS N` when all N came back, else `lost ADDRESS K of N`:
a reply from another address of the server is dropped by the kernel, never seen here.
"""
import socket
import sys

port, sockets = int(sys.argv[1]), int(sys.argv[2])
for address in sys.argv[3:]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    lost = 0
    for index in range(sockets):
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.settimeout(2)
        sock.connect((address, port))
        payload = f"{address} {index}".encode()
        sock.send(payload)
        try:
            if sock.recv(100) != payload:
                sys.exit(f"{address}: the echo differs")
        except socket.timeout:
            lost += 1
        sock.close()
    print(f"ok {address} {sockets}" if lost == 0 else f"lost {address} {lost} of {sockets}")
