"""A TCP forwarder: lets containers on a podman network reach a server that listens on loopback.

The test servers (testsupport.postgres, .activemq, .moto) listen on 127.0.0.1 only. A
container reaches the host through its network's gateway address (host.containers.internal),
so ``forward_tcp(gateway, port)`` listens there and copies each connection to
127.0.0.1:port. The socket is bound with IP_FREEBIND: the gateway address exists only
while a container runs on the network, and the forwarder may start before the first one
(or outlive a moment with none). Nothing else can reach it: the address is the bridge's.
"""

from __future__ import annotations

import contextlib
import socket
import threading

IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)


class Forwarder:
    def __init__(self, listen_host: str, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        self.sock.bind((listen_host, 0))
        self.sock.listen(64)
        self.host, self.port = self.sock.getsockname()[:2]
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name=f"forward-{self.port}", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self.sock.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            with contextlib.suppress(OSError):
                sock.shutdown(how)


def forward_tcp(listen_host: str, target_port: int) -> Forwarder:
    """Forward ``listen_host``:<free port> to 127.0.0.1:``target_port``; ``.port`` is the port chosen."""
    return Forwarder(listen_host, target_port)
