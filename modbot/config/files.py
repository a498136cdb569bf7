"""Reading a file the operator named (the rules file, a hash list) without trusting it.

A path in a configuration may name anything: a named pipe (opening it for reading
waits for a writer, forever), ``/dev/zero`` (endless), a directory, a file of many
gigabytes, a binary file given by mistake. `read_text_file` opens without blocking,
accepts a regular file only, reads at most a cap, and refuses binary content; each
refusal is an `UnusableFile` whose message says what the file is and what to do.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from modbot.errors import UnusableFile

__all__ = ["UnusableFile", "read_text_file"]

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _size(n: int) -> str:
    return f"{round(n / 1_000_000):,} MB" if n >= 1_000_000 else f"{round(n / 1000):,} KB"


def read_text_file(path: str | os.PathLike, *, max_bytes: int, what: str) -> bytes:
    """The bytes of a regular text file of at most `max_bytes` (`what` names it in
    messages, e.g. "a rules file"). Raises `UnusableFile`, and `OSError` (e.g.
    `FileNotFoundError`, `PermissionError`) when it cannot be opened."""
    # O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a
    # writer; it changes nothing for a regular file. O_NOCTTY: a terminal path does not
    # become the controlling terminal.
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(Path(path), flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
            raise UnusableFile(f"not a regular file: it is {kind}; give the path of {what}")
        if info.st_size > max_bytes:
            raise UnusableFile(
                f"too large: {_size(info.st_size)}, over the {_size(max_bytes)} limit for {what}"
            )
        chunks, total = [], 0
        while total <= max_bytes:  # the file may grow while it is read
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise UnusableFile(f"too large: over the {_size(max_bytes)} limit for {what}")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Notepad's "Unicode": every other byte a NUL, which would read as "binary"
        raise UnusableFile(
            'UTF-16 text (an editor\'s "Unicode"), not UTF-8: save the file as UTF-8', line=1
        )
    nul = data.find(b"\0")
    if nul >= 0:
        raise UnusableFile(
            f"binary content (a NUL byte), not text: is this {what}?",
            line=data.count(b"\n", 0, nul) + 1,
        )
    return data
