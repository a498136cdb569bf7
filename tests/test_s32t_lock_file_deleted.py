"""The acting lock holds when its file is deleted while held.

The lock is ``flock`` on ``MODBOT_STATE.lock``. Before, deleting that file while the
daemon held it (systemd-tmpfiles cleaning an old file under /tmp or /var/tmp, an admin
"clearing a stale lock" after a 75) left the daemon holding a lock on a file no path
named: the next `modbot sweep` or `run --once` made a new file, locked it, and acted on
the same state beside the daemon. Now the holder looks at its file every
``GUARD_EVERY`` seconds and makes it again, locked, when it is gone; a process that took
the lock on a file no longer at the path (deleted or replaced while it waited) takes the
one the path names instead; and a holder that finds another process got a new file
first says so in its log, as an error, and ``check()`` raises ``StateLocked``."""

from __future__ import annotations

import logging
import os
import threading

import pytest
from support.bot import wait_for

from modbot.errors import StateLocked
from modbot.statelock import StateLock, lock_path


@pytest.fixture
def state(tmp_path):
    path = tmp_path / "modbot.sqlite3"
    path.touch()
    return path


def test_a_lock_file_deleted_while_held_still_refuses_a_second_process(state):
    held = StateLock(state, command="modbot run").acquire()
    try:
        os.unlink(lock_path(state))  # tmpfiles, or an admin clearing a "stale" lock
        wait_for(lambda: lock_path(state).exists(), timeout=30, what="the lock file again")
        with pytest.raises(StateLocked) as refused:
            StateLock(state, command="modbot sweep").acquire()
        assert f"pid {os.getpid()} on host " in str(refused.value)
        assert "(modbot run)" in str(refused.value)
        held.check()  # still the only holder
    finally:
        held.release()
    StateLock(state).acquire().release()  # released: the next one takes it


def test_a_process_waiting_on_a_deleted_lock_file_takes_the_one_the_path_names(state, caplog):
    """A `--wait` process blocked on the file that was deleted gets it when the holder
    ends: it must not act on that unnamed file while another process locks the new one."""
    caplog.set_level(logging.WARNING, logger="modbot.statelock")
    first = StateLock(state, command="modbot run").acquire()
    second = StateLock(state, command="modbot sweep --wait")
    took = threading.Event()

    def wait_for_it() -> None:
        second.acquire(wait=None)
        took.set()

    waiter = threading.Thread(target=wait_for_it, daemon=True)
    waiter.start()
    try:
        wait_for(lambda: "waiting for the other modbot process" in caplog.text, what="waiting")
        os.unlink(lock_path(state))
        wait_for(lambda: lock_path(state).exists(), timeout=30, what="the lock file again")
        first.release()
        assert took.wait(30), "the waiting process never took the lock"
        with pytest.raises(StateLocked) as refused:
            StateLock(state, command="modbot run --once").acquire()
        assert "(modbot sweep --wait)" in str(refused.value)
    finally:
        first.release()
        waiter.join(30)
        second.release()


def test_a_holder_whose_file_another_process_took_says_so_and_check_refuses(state, caplog):
    """Deleted and taken by another process before the holder looked: the holder cannot
    undo that, but it says so as an error and ``check()`` tells its caller to stop."""
    caplog.set_level(logging.WARNING, logger="modbot.statelock")
    first = StateLock(state, command="modbot run", guard_every=None)  # it looks when told
    first.acquire()
    try:
        os.unlink(lock_path(state))
        with StateLock(state, command="modbot sweep"):
            first.keep()  # its look
            with pytest.raises(StateLocked) as lost:
                first.check()
            assert "(modbot sweep)" in str(lost.value)
            assert "deleted while this process held it" in str(lost.value)
            assert any(
                r.levelno == logging.ERROR and "two modbot processes" in r.getMessage()
                for r in caplog.records
            ), caplog.text
    finally:
        first.release()


def test_a_lock_file_that_cannot_be_made_again_is_said_once(tmp_path, caplog):
    """The state's folder removed while held (an `rm -rf` of the wrong folder): the
    holder's look every second says it cannot make the file again once, not each time,
    and makes it once the folder is back."""
    import shutil

    folder = tmp_path / "data"
    folder.mkdir()
    state = folder / "modbot.sqlite3"
    caplog.set_level(logging.WARNING, logger="modbot.statelock")
    held = StateLock(state, command="modbot run", guard_every=None).acquire()
    try:
        shutil.rmtree(folder)
        for _ in range(3):
            held.keep()
        said = [r for r in caplog.records if "could not make the lock file" in r.getMessage()]
        assert len(said) == 1, caplog.text
        folder.mkdir()
        held.keep()
        assert lock_path(state).exists()
        with pytest.raises(StateLocked):
            StateLock(state).acquire()
    finally:
        held.release()
