"""A state file on a network filesystem (NFS, SMB) is said when the acting lock is
taken: the lock and SQLite's WAL mode hold only between the processes of one host
(docs/configuration.md, "Across hosts"). Before, nothing was said: an admin who put
MODBOT_STATE on a share that two hosts mount learned it from a corrupt state or an
action done twice."""

from __future__ import annotations

import logging

import pytest

from modbot import statelock
from modbot.statelock import StateLock


def mountinfo(tmp_path, lines: list[str]):
    path = tmp_path / "mountinfo"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_a_state_on_nfs_is_said_when_the_lock_is_taken(tmp_path, monkeypatch, caplog):
    share = tmp_path / "my share"  # a space: mountinfo writes it \040
    share.mkdir()
    escaped = str(share).replace(" ", "\\040")
    monkeypatch.setattr(
        statelock,
        "MOUNTINFO",
        mountinfo(
            tmp_path,
            [
                "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
                f"40 22 0:50 / {escaped} rw,relatime shared:20 - nfs4 nas:/export rw,vers=4.2",
            ],
        ),
        raising=False,  # (named so by the fix: before it, nothing read the mounts)
    )
    caplog.set_level(logging.WARNING, logger="modbot.statelock")
    with StateLock(share / "modbot.sqlite3"):
        pass
    said = [r.getMessage() for r in caplog.records if "network filesystem" in r.getMessage()]
    assert len(said) == 1, caplog.text
    assert "nfs4" in said[0] and str(share / "modbot.sqlite3") in said[0]
    assert "one host" in said[0] and "local disk" in said[0]


@pytest.mark.parametrize("fstype", ["ext4", "overlay"])
def test_a_state_on_a_local_disk_says_nothing(tmp_path, monkeypatch, caplog, fstype):
    # the share is mounted elsewhere (a sibling whose name starts the same): not here
    state_dir = tmp_path / "data"
    state_dir.mkdir()
    monkeypatch.setattr(
        statelock,
        "MOUNTINFO",
        mountinfo(
            tmp_path,
            [
                f"22 1 8:1 / / rw - {fstype} /dev/sda1 rw",
                f"40 22 0:50 / {tmp_path / 'dat'} rw - nfs nas:/export rw",
                f"41 22 0:51 / {tmp_path / 'data-nfs'} rw - cifs //nas/x rw",
            ],
        ),
        raising=False,  # (named so by the fix: before it, nothing read the mounts)
    )
    caplog.set_level(logging.WARNING, logger="modbot.statelock")
    with StateLock(state_dir / "modbot.sqlite3"):
        pass
    assert "network filesystem" not in caplog.text
