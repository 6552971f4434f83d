"""Send one command to HAProxy's runtime API socket and print the answer (run inside the container)."""

import socket
import sys

sock = socket.socket(socket.AF_UNIX)
sock.connect(sys.argv[1])
sock.sendall(sys.argv[2].encode() + b"\n")
out = b""
while chunk := sock.recv(65536):
    out += chunk
print(out.decode())
