"""Extract the collections of requirements.yml, at their pinned versions, from the ansible wheel.

Galaxy is not reachable from every build machine, PyPI is (the grading image's build
needs it too). The pinned `ansible` release (requirements.txt) bundles exactly the
collection versions requirements.yml pins; this takes those collections, and nothing else,
out of the wheel and fails when a version differs from the pin.

  python3 extract_collections.py ANSIBLE_WHEEL REQUIREMENTS_YML DEST
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path

# requirements.yml's entries: "- name: ns.coll" followed by 'version: "x.y.z"'. A plain
# pattern, not a YAML parser: the build stage has only Python's standard library.
ENTRY = re.compile(r"-\s+name:\s*([a-z0-9_]+)\.([a-z0-9_]+)\s*\n\s+version:\s*\"?([0-9][^\"\s]*)\"?")


def main(wheel: str, requirements: str, dest: str) -> int:
    pins = ENTRY.findall(Path(requirements).read_text())
    if not pins:
        print(f"no collections found in {requirements}", file=sys.stderr)
        return 1
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        for namespace, name, version in pins:
            prefix = f"ansible_collections/{namespace}/{name}/"
            members = [n for n in names if n.startswith(prefix)]
            if not members:
                print(f"{namespace}.{name} is not in {wheel}", file=sys.stderr)
                return 1
            manifest = json.loads(archive.read(prefix + "MANIFEST.json"))
            bundled = manifest["collection_info"]["version"]
            if bundled != version:
                print(f"{namespace}.{name}: the wheel has {bundled}, requirements.yml pins {version}", file=sys.stderr)
                return 1
            archive.extractall(dest, members)
            print(f"{namespace}.{name} {version}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
