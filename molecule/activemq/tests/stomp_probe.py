"""A minimal STOMP 1.2 client run inside the broker's container (no stomp.py there).

usage: stomp_probe.py USER PASSWORD connect
       stomp_probe.py USER PASSWORD send QUEUE BODY
       stomp_probe.py USER PASSWORD receive QUEUE
       stomp_probe.py USER PASSWORD nack-all QUEUE   (prints how many times it was delivered)
"""

import socket
import sys


def frame(command: str, headers: dict[str, str], body: str = "") -> bytes:
    lines = [command, *(f"{k}:{v}" for k, v in headers.items()), "", body]
    return ("\n".join(lines) + "\0").encode()


class Client:
    def __init__(self, user: str, password: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", 61613), timeout=10)
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


def main() -> None:
    user, password, action, *args = sys.argv[1:]
    client = Client(user, password)
    if action == "connect" or client.connected[0] != "CONNECTED":
        print(client.connected[0], client.connected[1].get("message", ""))
        return
    if action == "send":
        queue, body = args
        client.send("SEND", {"destination": f"/queue/{queue}", "persistent": "true", "receipt": "r1"}, body)
        print(client.read()[0])
    elif action == "receive":
        client.send("SUBSCRIBE", {"destination": f"/queue/{args[0]}", "id": "1", "ack": "auto"})
        command, _, body = client.read()
        print(body if command == "MESSAGE" else command)
    elif action == "nack-all":
        client.send("SUBSCRIBE", {"destination": f"/queue/{args[0]}", "id": "1", "ack": "client-individual"})
        deliveries = 0
        while True:
            command, headers, _ = client.read(timeout=8.0)
            if command != "MESSAGE":
                break
            deliveries += 1
            client.send("NACK", {"id": headers["ack"]})
        print(deliveries)


if __name__ == "__main__":
    main()
