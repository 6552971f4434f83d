"""A minimal STOMP 1.2 client run inside the broker's container (no stomp.py there), over TLS as the
web app and the workers connect: to 127.0.0.1, checking the certificate for the name `mq`.

usage: stomp_probe.py [--ca FILE|system] [--plain PORT] USER PASSWORD connect
       stomp_probe.py ... USER PASSWORD send QUEUE BODY
       stomp_probe.py ... USER PASSWORD receive QUEUE
       stomp_probe.py ... USER PASSWORD nack-all QUEUE   (prints how many times it was delivered)
       stomp_probe.py ... - - certificate                 (the verified peer certificate, as JSON)

--ca system trusts the system bundle only (a client without the environment's CA); --plain
PORT speaks plain STOMP to that port. A refused TCP connection prints REFUSED, a failed TLS
handshake TLS-ERROR and its reason.
"""

import argparse
import json
import socket
import ssl
import sys

TLS_PORT = 61614
SERVER_NAME = "mq"


def frame(command: str, headers: dict[str, str], body: str = "") -> bytes:
    lines = [command, *(f"{k}:{v}" for k, v in headers.items()), "", body]
    return ("\n".join(lines) + "\0").encode()


def open_socket(ca: str, plain_port: int) -> socket.socket:
    if plain_port:
        return socket.create_connection(("127.0.0.1", plain_port), timeout=10)
    context = ssl.create_default_context() if ca == "system" else ssl.create_default_context(cafile=ca)
    raw = socket.create_connection(("127.0.0.1", TLS_PORT), timeout=10)
    return context.wrap_socket(raw, server_hostname=SERVER_NAME)


class Client:
    def __init__(self, sock: socket.socket, user: str, password: str) -> None:
        self.sock = sock
        self.buf = b""
        self.sock.sendall(frame("CONNECT", {"accept-version": "1.2", "host": "/", "login": user, "passcode": password}))
        self.connected = self.read()

    def read(self, timeout: float = 10.0) -> tuple[str, dict[str, str], str]:
        self.sock.settimeout(timeout)
        while b"\0" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return ("TIMEOUT", {}, "")
            if not chunk:
                return ("CLOSED", {}, "")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        head, _, body = raw.decode().lstrip("\n").partition("\n\n")
        command, *header_lines = head.split("\n")
        headers = dict(line.split(":", 1) for line in header_lines if ":" in line)
        return command, headers, body

    def send(self, command: str, headers: dict[str, str], body: str = "") -> None:
        self.sock.sendall(frame(command, headers, body))


def certificate(sock: ssl.SSLSocket) -> dict:
    cert = sock.getpeercert() or {}

    def names(rdns: tuple) -> dict[str, str]:
        return {key: value for rdn in rdns for key, value in rdn}

    return {
        "subject": names(cert.get("subject", ())),
        "issuer": names(cert.get("issuer", ())),
        "san": [value for kind, value in cert.get("subjectAltName", ()) if kind == "DNS"],
        "serial": cert.get("serialNumber", ""),
        "version": sock.version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ca", default="/tmp/mq-ca.pem")
    parser.add_argument("--plain", type=int, default=0)
    parser.add_argument("user")
    parser.add_argument("password")
    parser.add_argument("action")
    parser.add_argument("args", nargs="*")
    opts = parser.parse_args()
    try:
        sock = open_socket(opts.ca, opts.plain)
    except ConnectionRefusedError:
        print("REFUSED")
        return
    except ssl.SSLError as error:
        print("TLS-ERROR", getattr(error, "reason", None) or error)
        return
    if opts.action == "certificate":
        print(json.dumps(certificate(sock)))
        return
    client = Client(sock, opts.user, opts.password)
    if opts.action == "connect" or client.connected[0] != "CONNECTED":
        print(client.connected[0], client.connected[1].get("message", ""))
        return
    args = opts.args
    if opts.action == "send":
        queue, body = args
        client.send("SEND", {"destination": f"/queue/{queue}", "persistent": "true", "receipt": "r1"}, body)
        print(client.read()[0])
    elif opts.action == "receive":
        client.send("SUBSCRIBE", {"destination": f"/queue/{args[0]}", "id": "1", "ack": "auto"})
        command, _, body = client.read()
        print(body if command == "MESSAGE" else command)
    elif opts.action == "nack-all":
        client.send("SUBSCRIBE", {"destination": f"/queue/{args[0]}", "id": "1", "ack": "client-individual"})
        deliveries = 0
        while True:
            command, headers, _ = client.read(timeout=8.0)
            if command != "MESSAGE":
                break
            deliveries += 1
            client.send("NACK", {"id": headers["ack"]})
        print(deliveries)
    else:
        sys.exit(f"unknown action {opts.action}")


if __name__ == "__main__":
    main()
