"""The acting lock is taken when the note of who holds it cannot be written (a full
disk, a quota reached): the note is information only, the OS lock is the lock.

Before: ``StateLock.acquire`` took the lock, then wrote the holder's note into the lock
file; on a full disk that write failed with ENOSPC and the OSError ended `modbot run`
(or `sweep`) with a traceback, although nothing needed the note. Now the run goes on,
the log says the note could not be written, and a second acting process is still
refused, saying the holder has not said who it is."""

from __future__ import annotations

import errno
import logging
import os

import pytest

from modbot.errors import StateLocked
from modbot.statelock import StateLock, lock_path


def test_a_lock_whose_note_cannot_be_written_is_held_and_said(tmp_path, monkeypatch, caplog):
    state = tmp_path / "modbot.sqlite3"
    state.touch()
    lock_file = lock_path(state)
    pwrite = os.pwrite

    def full_disk(fd: int, data: bytes, offset: int) -> int:
        if os.path.samefile(f"/proc/self/fd/{fd}", lock_file):
            raise OSError(errno.ENOSPC, "No space left on device")
        return pwrite(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", full_disk)
    caplog.set_level(logging.WARNING, logger="modbot.statelock")
    held = StateLock(state, command="modbot run").acquire()
    try:
        assert any(
            "could not write who holds the lock" in r.getMessage()
            and str(lock_file) in r.getMessage()
            and "No space left on device" in r.getMessage()
            for r in caplog.records
        ), caplog.text
        with pytest.raises(StateLocked) as refused:
            StateLock(state).acquire()
        assert "has not said who it is yet" in str(refused.value)
    finally:
        held.release()
    monkeypatch.setattr(os, "pwrite", pwrite)  # room again: the next one takes it
    StateLock(state).acquire().release()
