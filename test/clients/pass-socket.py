"""Starts a program as a service manager would, passing it one descriptor by the LISTEN_FDS
protocol (descriptor 3, LISTEN_PID its own pid, since exec keeps it), of a kind that
systemd-socket-activate cannot pass: an unbound UDP socket, a Unix socket, or a file; or a
blocking UDP socket bound to 127.0.0.1 on a free port, which it prints on stderr before exec.

Usage: pass-socket.py udp-unbound|unix|file|udp-blocking PROGRAM [ARGS...]
"""
import os
import socket
import sys

kind, program = sys.argv[1], sys.argv[2:]
if kind == "udp-unbound":
    fd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM).detach()
elif kind == "unix":
    fd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).detach()
elif kind == "udp-blocking":
    bound = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    bound.bind(("127.0.0.1", 0))
    print(f"port {bound.getsockname()[1]}", file=sys.stderr, flush=True)
    fd = bound.detach()
elif kind == "file":
    fd = os.open("/dev/null", os.O_RDONLY)
else:
    sys.exit(f"pass-socket.py: unknown kind {kind!r}")
if fd != 3:
    os.dup2(fd, 3, inheritable=True)
    os.close(fd)
else:
    os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="passed")
os.execv(program[0], program)
