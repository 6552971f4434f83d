# expect: AC
import socket

escaped = []
for host, port in (("169.254.170.2", 80), ("127.0.0.1", 8080), ("169.254.169.254", 80)):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            escaped.append(f"connected {host}:{port}")
    except PermissionError:
        pass
    except OSError as exc:
        escaped.append(f"socket created for {host}:{port} ({exc})")
print("ESCAPED " + "; ".join(escaped) if escaped else "BLOCKED")
