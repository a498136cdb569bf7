"""Files replaced whole: written beside their path, then renamed over it.

Readers see the old file or the new one, never a part. The temporary file is locked
(`flock`) while it is written, so one left by a process killed midway (kill -9, an OOM
kill, a power loss) is told from one being written now: the next write of the same file
removes it, as the lock went with the process. The temporary name is random, not the
PID's: in the container every run is PID 1."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["replace_file"]

# A temporary file younger than this is left alone even when unlocked: it may be one
# just made by another writer that has not locked it yet.
LEFT_OVER_AGE_S = 60.0


def replace_file(
    path: Path, write: Callable[[IO[bytes]], object], *, mode: int = 0o600, sync: bool = False
) -> None:
    """Write ``path`` anew through ``write(file)``, with ``mode`` whatever the umask;
    ``sync``: on disk before the rename (a key, a feed). An error leaves ``path`` as it
    was and no temporary file; an ``OSError`` names ``path``."""
    _remove_left_over(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:  # name the file asked for, not the temporary one
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    tmp = Path(name)
    try:
        f = os.fdopen(fd, "wb")  # owns fd from here: closed whatever happens
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    try:
        with f:
            # best effort: some network filesystems have no locks (ENOLCK); the write
            # goes on (and a left-over there is never taken for one: it cannot be locked)
            with contextlib.suppress(OSError):
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            os.fchmod(f.fileno(), mode)
            write(f)
            f.flush()
            if sync:
                os.fsync(f.fileno())
            os.replace(tmp, path)  # still locked: never taken for a left-over
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove_left_over(path: Path) -> None:
    """Remove the temporary files of ``path`` that a killed writer left (unlocked, and
    not just made); best effort: a directory that cannot be read is left as it is."""
    own = re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]{8}(\.tmp)?")
    try:
        names = [e for e in os.scandir(path.parent) if own.fullmatch(e.name)]
    except OSError:
        return
    now = time.time()
    for entry in names:
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if now - entry.stat(follow_symlinks=False).st_mtime < LEFT_OVER_AGE_S:
                continue
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # being written now
        else:
            Path(entry.path).unlink(missing_ok=True)
        finally:
            os.close(fd)
