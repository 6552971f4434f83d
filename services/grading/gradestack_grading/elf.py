"""The static memory image of a compiled program, read from its ELF program headers.

Why: a program whose loadable segments (code, data, and above all a large ``.bss``
array) do not fit under the address-space rlimit never starts: the kernel kills the
exec with SIGSEGV, which would read as RTE. Declaring more static memory than the
problem allows is a memory-limit breach, so the judge sums the PT_LOAD segments'
``p_memsz`` before running and calls a program that is too big MLE without running it.

The file is the submission's output, so it is parsed defensively: anything that is not
a well-formed ELF file gives None and the program simply runs (the kernel decides).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

PT_LOAD = 1
PN_XNUM = 0xFFFF  # the real count lives in a section header: not worth following
_HEADER_BYTES = 64

# class -> (offset and format of e_phoff, e_phentsize, e_phnum), (phdr size, p_memsz offset and format)
_LAYOUT = {
    1: ((28, "I"), (42, "H"), (44, "H"), (32, (20, "I"))),  # ELFCLASS32
    2: ((32, "Q"), (54, "H"), (56, "H"), (56, (40, "Q"))),  # ELFCLASS64
}


def static_image_bytes(path: Path) -> int | None:
    """The sum of the PT_LOAD segments' memory sizes, or None if ``path`` is not a readable ELF file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        header = os.pread(fd, _HEADER_BYTES, 0)
        layout = _layout_of(header)
        if layout is None:
            return None
        endian, (phoff, phentsize, phnum, (entry_size, memsz)) = layout
        offset, entsize, count = (_field(header, endian, spec) for spec in (phoff, phentsize, phnum))
        if count == PN_XNUM or entsize < entry_size:
            return None
        table = os.pread(fd, entsize * count, offset)
        if len(table) < entsize * count:
            return None
    except OSError:
        return None
    finally:
        os.close(fd)
    entries = (table[i * entsize : (i + 1) * entsize] for i in range(count))
    return sum(_field(entry, endian, memsz) for entry in entries if _field(entry, endian, (0, "I")) == PT_LOAD)


def _layout_of(header: bytes) -> tuple[str, tuple] | None:
    if len(header) < _HEADER_BYTES or header[:4] != b"\x7fELF":
        return None
    endian = {1: "<", 2: ">"}.get(header[5])
    layout = _LAYOUT.get(header[4])
    if endian is None or layout is None:
        return None
    return endian, layout


def _field(data: bytes, endian: str, spec: tuple[int, str]) -> int:
    offset, fmt = spec
    return struct.unpack_from(endian + fmt, data, offset)[0]
