# expect: AC
import os

found = [f"{k}={v}" for k, v in os.environ.items() if k.startswith(("AWS_", "ECS_", "MQ_")) or "canary" in v]
for pid in ("1", str(os.getppid())):
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            found.append(handle.read().decode(errors="replace"))
    except OSError:
        pass
print("ESCAPED " + " | ".join(found) if found else "BLOCKED")
