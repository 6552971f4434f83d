#!/usr/bin/env python3
"""Print `name==version` for every wheel in a directory: the bundle's lock file.

Installing with `pip install --no-index --find-links DIR -r LOCK` then needs nothing
but the directory, and installs exactly what the build resolved.
"""

import sys
from pathlib import Path


def main(directory: str) -> int:
    pins = []
    for wheel in sorted(Path(directory).glob("*.whl")):
        # Wheel names are {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl
        name, version = wheel.name.split("-")[:2]
        pins.append(f"{name}=={version}")
    if not pins:
        print(f"lock_wheels.py: no wheels in {directory}", file=sys.stderr)
        return 2
    print("\n".join(sorted(set(pins), key=str.lower)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
