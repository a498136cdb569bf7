"""A lock file left by a run as another user (`sudo modbot run --once` once, then the
service as its own user) is named with its owner and what to do.

Before: "cannot open X.lock, the lock beside the state file: Permission denied;
modbot's user must be able to write in <folder>", and the folder was writable: the
file was root's. Now the message says whose the file is, and to chown it (or delete it
while no modbot runs). Opening a file one's user may not write is refused only to a
user other than root, so the refusal is the kernel's answer, given here."""

from __future__ import annotations

import errno
import os

import pytest

from modbot.errors import StateError, StateLocked
from modbot.statelock import StateLock, lock_path


def test_a_lock_file_modbot_may_not_open_names_its_owner(tmp_path, monkeypatch):
    state = tmp_path / "modbot.sqlite3"
    state.touch()
    lock_file = lock_path(state)
    lock_file.write_text("")
    lock_file.chmod(0o600)
    real_open = os.open

    def refused(path, flags, *args, **kwargs):
        if os.fspath(path) == str(lock_file):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refused)
    with pytest.raises(StateError) as failed:
        StateLock(state).acquire()
    assert not isinstance(failed.value, StateLocked)
    said = str(failed.value)
    assert str(lock_file) in said and "Permission denied" in said, said
    assert f"belongs to uid {lock_file.stat().st_uid}" in said, said
    assert f"chown {os.getuid()} {lock_file}" in said, said
    assert "must be able to write in" not in said, said
