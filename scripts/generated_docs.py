"""The part of a README a generator owns: a block between two markers, rewritten or checked.

scripts/role_docs.py (roles) and scripts/terraform_docs.py (Terraform modules) share it:
the prose around the block is the author's, the block is the generator's.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def splice(current: str, block: str, begin: str, end: str) -> str:
    """``current`` with the text between ``begin`` and ``end`` replaced by ``block`` (which
    carries both markers); without markers, ``block`` is appended after the text."""
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        return head + block + rest.split(end, 1)[1]
    return current.rstrip("\n") + "\n\n" + block + "\n"


def sync(readmes: Iterable[tuple[Path, str, str]], *, check: bool, generator: str) -> list[Path]:
    """Write each README whose generated text differs, or with ``check`` only list them.

    ``readmes`` holds (path, current text, generated text). Returns the stale ones (empty
    unless ``check``) after naming them on stderr with the command that refreshes them.
    """
    stale = []
    for readme, current, new in readmes:
        if current == new:
            continue
        if check:
            stale.append(readme)
        else:
            readme.write_text(new)
            print(f"updated {readme.relative_to(REPO) if readme.is_relative_to(REPO) else readme}")
    if stale:
        names = "\n  ".join(str(p) for p in stale)
        print(f"stale generated README blocks (run {generator}):\n  {names}", file=sys.stderr)
    return stale
