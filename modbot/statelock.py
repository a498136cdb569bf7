"""One acting process per state file: an OS lock on ``<state>.lock`` beside it.

Only the process holding the lock may act on the instance (``modbot run`` and
``modbot sweep`` without ``--dry-run``); a dry run never takes it, so a ``modbot report``
beside the daemon neither waits for it nor takes it away. The lock is ``flock`` on a side
file: the kernel releases it when its process ends, however it ends (``kill -9``, OOM,
a power cut of the container), so a dead holder's lock is never stale: the next process
simply gets it. The file also says who holds it (pid, host, since when, the command), for
the message the second process prints; that text is information only, never the lock.

A lock on a file no path names any more is no lock: the next process would make a new
file and lock that. So the holder looks at its file every ``GUARD_EVERY`` seconds (a
thread of its own) and makes it again, locked, when it was deleted (systemd-tmpfiles
cleaning an old file, an admin "clearing a stale lock"); a process that got the lock on
a file deleted or replaced meanwhile takes the one the path names instead; and a holder
that finds another process took a new file first logs an error and ``check()`` raises
``StateLocked`` from then on, for its caller to stop acting.

``flock`` is shared by every process of one kernel, containers on one host included
(a volume mounted in two containers is one file). Across hosts (a state file on NFS or
another network filesystem seen by two machines) neither this lock nor SQLite's WAL mode
is reliable: keep the state on one host's disk and run the acting modbot on that host.
A state on such a filesystem is said in the log when the lock is taken
(``network_filesystem``).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import socket
import sys
import threading
import time
from pathlib import Path

from modbot.errors import StateLocked

__all__ = ["StateLock", "StateLocked", "lock_path"]

log = logging.getLogger(__name__)

POLL = 0.5  # seconds between tries while waiting
GUARD_EVERY = 1.0  # seconds between the holder's looks at its lock file (a stat)

MOUNTINFO = "/proc/self/mountinfo"  # Linux: every mount this process sees, and its type
# Filesystems shared between hosts over the network, where neither the lock nor SQLite's
# WAL mode holds between the hosts (a cluster filesystem with its own lock manager is not
# named: its locks do hold).
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ceph",
        "fuse.ceph",
        "glusterfs",
        "fuse.glusterfs",
        "fuse.sshfs",
        "afs",
        "lustre",
    }
)


def lock_path(state_path: str | Path) -> Path:
    # One file named two ways (a symlink, a symlinked directory, a relative path) must
    # get one lock: derive it from the real path.
    path = Path(state_path).resolve()
    return path.with_name(path.name + ".lock")


def _mounts() -> list[tuple[str, str]]:
    """(mount point, filesystem type) of every mount this process sees, in the order
    mounted; empty where it cannot be known (no /proc: not Linux)."""
    try:
        with open(MOUNTINFO, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    mounts = []
    for line in lines:
        # "36 35 98:0 /root /mount/point options [optional...] - type source options"
        head, dash, tail = line.partition(" - ")
        fields, after = head.split(), tail.split()
        if not dash or len(fields) < 5 or not after:
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
        mounts.append((point, after[0]))
    return mounts


def network_filesystem(path: Path) -> str | None:
    """The type of the network filesystem (``NETWORK_FILESYSTEMS``) ``path`` lies on,
    from the mounts this process sees; None on a local one, or where it cannot be known
    (no /proc: not Linux)."""
    target = str(path)
    found: tuple[str, str] | None = None  # (mount point, type) of the deepest mount
    for point, kind in _mounts():
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        # the deepest mount point holding the path; of equal ones the last (mounted over)
        if inside and (found is None or len(point) >= len(found[0])):
            found = (point, kind)
    return found[1] if found is not None and found[1] in NETWORK_FILESYSTEMS else None


def mounted_alone(path: Path) -> bool:
    """Whether the file ``path`` is a mount point of its own (a container's bind mount
    of the file, not of its folder): what SQLite and the lock put beside it is then
    not beside the file others open."""
    target = str(path)
    return any(point == target for point, _kind in _mounts())


def _describe(holder: dict | None) -> str:
    if not holder:
        return "a process that has not said who it is yet (it is starting)"
    command = f" ({holder['command']})" if holder.get("command") else ""
    return (
        f"pid {holder.get('pid')} on host {holder.get('host')} since {holder.get('since')}{command}"
    )


class StateLock:
    """The acting lock of one state file. ``acquire()`` then ``release()`` (or ``with``)."""

    def __init__(
        self,
        state_path: str | Path,
        *,
        command: str | None = None,
        guard_every: float | None = GUARD_EVERY,
    ) -> None:
        """``guard_every``: seconds between the looks at the held lock file (None: no
        thread; ``keep()`` looks when called)."""
        self.state_path = Path(state_path)
        self.path = lock_path(state_path)
        self.command = command or " ".join(["modbot", *sys.argv[1:]])[:200]
        self._fd: int | None = None
        self.guard_every = guard_every
        self._guard: threading.Thread | None = None
        self._stop = threading.Event()
        self._mutex = threading.Lock()  # the guard's look, against release()
        self.lost: str | None = None  # another process holds a new lock file: why
        self._lost_to: dict | None = None
        self._said_cannot = False  # that the lock file cannot be made again: said

    def __enter__(self) -> StateLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self, wait: float | None = 0.0) -> StateLock:
        """Take the lock. ``wait``: seconds to wait for the holder to end (0: not at all,
        None: as long as it takes). Raises ``StateLocked`` naming the holder, or
        ``StateError`` when the lock file cannot be opened."""
        if self._fd is not None:
            return self
        deadline = None if wait is None else time.monotonic() + wait
        told = False
        while True:
            fd = self._open()
            try:
                while not self._try_lock(fd):
                    holder = self._read(fd)
                    if deadline is not None and time.monotonic() >= deadline:
                        raise StateLocked(self._message(holder, waited=wait), holder) from None
                    if not told:
                        told = True
                        log.warning(
                            "waiting for the other modbot process acting on %s to end: %s",
                            self.state_path,
                            _describe(holder),
                        )
                    time.sleep(
                        POLL
                        if deadline is None
                        else max(0.0, min(POLL, deadline - time.monotonic()))
                    )
            except BaseException:
                os.close(fd)
                raise
            if self._names(fd):
                break
            # Locked a file that was deleted or replaced while this process opened or
            # waited on it: another may lock the one the path names now. Take that one.
            os.close(fd)
        self._fd = fd
        self.lost, self._lost_to = None, None
        previous = self._read(fd, tries=1)
        if previous and not previous.get("released_at"):
            same_host = previous.get("host") == socket.gethostname()
            log.warning(
                "the previous modbot process acting on %s (%s) ended without releasing it "
                "(killed?); taking over%s",
                self.state_path,
                _describe(previous),
                ""
                if same_host
                else ". It ran on another host: if it is still running there, stop one of them "
                "(the lock and SQLite only hold on one host)",
            )
        if mounted_alone(self.state_path.resolve()):
            log.warning(
                "the state file %s is mounted on its own (a bind mount of the file, not of "
                "its folder): its lock %s and SQLite's -wal and -shm are made in the "
                "folder it is mounted into, not beside the file it shows. A second "
                "container on the same file is not refused, and what the -wal holds is "
                "lost with this container: mount its folder instead (e.g. -v "
                "/srv/modbot:/var/lib/modbot)",
                self.state_path,
                self.path.name,
            )
        shared = network_filesystem(self.path.parent)
        if shared is not None:
            log.warning(
                "the state file %s is on a network filesystem (%s): the acting lock and "
                "SQLite hold only between the processes of one host. Run every modbot "
                "acting on it on one host, or better keep MODBOT_STATE on a local disk",
                self.state_path,
                shared,
            )
        try:
            self._write(self._holder())
        except OSError as exc:
            # The note is information only (the flock is the lock, and it is held): a
            # full disk or a quota must not end the run here, with a traceback.
            log.warning(
                "could not write who holds the lock in %s (%s): a second modbot process "
                "is still refused, but cannot name this one",
                self.path,
                exc.strerror or exc,
            )
        if self.guard_every is not None:
            self._stop.clear()
            self._guard = threading.Thread(
                target=self._watch, name="modbot-state-lock", daemon=True
            )
            self._guard.start()
        return self

    def check(self) -> None:
        """Raise ``StateLocked`` when this process no longer holds the state alone (its
        lock file was deleted and another process took a new one): stop acting."""
        if self.lost is not None:
            raise StateLocked(self.lost, self._lost_to)

    def keep(self) -> None:
        """Look at the held lock file once (the guard thread does every
        ``guard_every`` seconds): made again and locked when it was deleted or replaced."""
        with self._mutex:
            fd = self._fd
            if fd is None or self.lost is not None or self._names(fd):
                return
            from modbot.store import StateError

            try:
                new = self._open()
            except StateError as exc:  # the folder gone or unwritable: the next look
                if not self._said_cannot:  # once, not every second
                    self._said_cannot = True
                    log.warning("could not make the lock file %s again: %s", self.path, exc)
                return
            self._said_cannot = False
            try:
                got = self._try_lock(new)
            except StateError:
                got = False
            if got and self._names(new):
                self._fd = new
                os.close(fd)  # a process blocked on the old file finds it unnamed: see acquire
                log.warning(
                    "the lock file %s was deleted while this process held it (a cleaner "
                    "of old files, or by hand: never delete it while modbot runs); made it "
                    "again, still held by this process",
                    self.path,
                )
                with contextlib.suppress(OSError):
                    self._write(self._holder())
                return
            holder = self._read(new, tries=1) if not got else None
            os.close(new)
            if got:  # replaced again meanwhile: the next look
                return
            self._lost_to = holder
            self.lost = (
                f"the lock file {self.path} was deleted while this process held it, and "
                f"another modbot process took a new one: {_describe(holder)}. Two modbot "
                f"processes acted on the state file {self.state_path}; stop one of them, "
                "and never delete the lock file while modbot runs"
            )
            log.error(
                "two modbot processes act on %s: %s (this one: pid %s)",
                self.state_path,
                self.lost,
                os.getpid(),
            )

    def _holder(self) -> dict:
        """What the lock file says of this process, its holder (information only)."""
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": _now(),
            "command": self.command,
            "state": str(self.state_path),
        }

    def _watch(self) -> None:
        while not self._stop.wait(self.guard_every):
            try:
                self.keep()
            except Exception:  # a look that failed: the next one tries again
                log.debug("looking at the lock file %s failed", self.path, exc_info=True)

    def _open(self) -> int:
        from modbot.store import StateError

        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StateError(self._open_problem(exc)) from None
        # not our file: the lock still works; the state's own check says more
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o600)
        return fd

    def _names(self, fd: int) -> bool:
        """Whether the lock file's path still names the file ``fd`` is open on."""
        try:
            named, held = os.stat(self.path), os.fstat(fd)
        except OSError:
            return False
        return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)

    def _open_problem(self, exc: OSError) -> str:
        """Why the lock file cannot be opened, and what to do."""
        try:
            owner = self.path.stat().st_uid
        except OSError:
            owner = None
        if owner is not None and exc.errno in (errno.EACCES, errno.EPERM):
            # Left by a run as another user (`sudo modbot run --once`): the folder is
            # fine, the file is not modbot's.
            return (
                f"cannot open {self.path}, the lock beside the state file: "
                f"{exc.strerror}: it belongs to uid {owner} and modbot runs as uid "
                f"{os.getuid()}. Give it to modbot's user (`chown {os.getuid()} "
                f"{self.path}`), or delete it while no modbot process runs"
            )
        return (
            f"cannot open {self.path}, the lock beside the state file: "
            f"{exc.strerror}; modbot's user must be able to write in "
            f"{self.path.parent}"
        )

    def _try_lock(self, fd: int) -> bool:
        from modbot.store import StateError

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as exc:  # ENOLCK, EOPNOTSUPP: a filesystem without locks
            raise StateError(
                f"cannot lock {self.path} ({exc.strerror}): its filesystem does not support "
                "file locks; keep MODBOT_STATE on a local disk"
            ) from None
        return True

    def release(self) -> None:
        self._stop.set()
        guard, self._guard = self._guard, None
        if guard is not None and guard is not threading.current_thread():
            guard.join(timeout=5)
        with self._mutex:
            if self._fd is None:
                return
            fd, self._fd = self._fd, None
            self._release(fd)

    def _release(self, fd: int) -> None:
        try:
            holder = self._read(fd, tries=1) or {}
            self._write({**holder, "released_at": _now()}, fd)
        except OSError:
            pass
        finally:
            os.close(fd)  # closing the last descriptor releases the flock

    # ------------------------------------------------------------------ holder info
    def _write(self, info: dict, fd: int | None = None) -> None:
        fd = self._fd if fd is None else fd
        assert fd is not None, "the lock is held"
        data = (json.dumps(info, sort_keys=True) + "\n").encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)

    @staticmethod
    def _read(fd: int, tries: int = 5) -> dict | None:
        # The holder writes its line just after taking the lock: a reader may see the
        # file empty or half written for an instant.
        for attempt in range(tries):
            try:
                data = os.pread(fd, 4096, 0)
                if data.strip():
                    return json.loads(data)
            except (OSError, ValueError):
                pass
            if attempt + 1 < tries:
                time.sleep(0.05)
        return None

    def _message(self, holder: dict | None, waited: float | None) -> str:
        after = f" (waited {waited:g}s)" if waited else ""
        return (
            f"another modbot process is acting on the state file {self.state_path}: "
            f"{_describe(holder)}{after}. Only one process may act on a state file at "
            "a time (the lock is " + str(self.path) + "). Stop that process, or pass "
            "--wait to wait for it to end; a dry run (--dry-run, `modbot report`) may "
            "run beside it."
        )


def _now() -> str:
    from modbot.store import utc_iso

    return utc_iso()
