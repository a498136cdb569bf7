"""A state file bind-mounted on its own (``-v ./modbot.sqlite3:/var/lib/modbot/modbot.sqlite3``,
as the rules file is mounted) is said when the acting lock is taken.

Its lock (``MODBOT_STATE.lock``) and SQLite's -wal and -shm are made beside it, in the
container's own folder, not beside the file on the host: a second container on the same
file takes a lock of its own and acts too, and what a killed container's -wal held is
lost with the container. Before, nothing was said; now a warning names the file and
says to mount its folder instead."""

from __future__ import annotations

import logging

from modbot import statelock
from modbot.statelock import StateLock


def mountinfo(tmp_path, lines: list[str]):
    path = tmp_path / "mountinfo"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_a_state_file_mounted_on_its_own_is_said(tmp_path, monkeypatch, caplog):
    folder = tmp_path / "lib"
    folder.mkdir()
    state = folder / "modbot.sqlite3"
    state.touch()
    monkeypatch.setattr(
        statelock,
        "MOUNTINFO",
        mountinfo(
            tmp_path,
            [
                "500 400 0:60 / / rw,relatime - overlay overlay rw,lowerdir=/x",
                f"510 500 8:1 /srv/modbot/modbot.sqlite3 {state} rw,relatime - ext4 /dev/sda1 rw",
            ],
        ),
    )
    caplog.set_level(logging.WARNING, logger="modbot.statelock")
    with StateLock(state):
        pass
    said = [r.getMessage() for r in caplog.records if "mounted on its own" in r.getMessage()]
    assert len(said) == 1, caplog.text
    assert str(state) in said[0] and "mount its folder" in said[0]
    assert "network filesystem" not in caplog.text


def test_a_state_in_a_mounted_folder_says_nothing(tmp_path, monkeypatch, caplog):
    folder = tmp_path / "lib"
    folder.mkdir()
    state = folder / "modbot.sqlite3"
    monkeypatch.setattr(
        statelock,
        "MOUNTINFO",
        mountinfo(
            tmp_path,
            [
                "500 400 0:60 / / rw,relatime - overlay overlay rw,lowerdir=/x",
                f"510 500 8:1 /srv/modbot {folder} rw,relatime - ext4 /dev/sda1 rw",
                f"511 500 8:1 /srv/other {state}-other rw,relatime - ext4 /dev/sda1 rw",
            ],
        ),
    )
    caplog.set_level(logging.WARNING, logger="modbot.statelock")
    with StateLock(state):
        pass
    assert "mounted on its own" not in caplog.text, caplog.text
