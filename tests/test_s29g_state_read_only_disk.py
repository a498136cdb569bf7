"""A state file on a filesystem mounted read-only (a container's volume mounted `:ro`,
a disk the kernel remounted read-only after errors) is refused saying so.

Before: modbot said "the state file ... is not readable and writable by modbot (uid N):
fix its owner or mode", and the admin looked at an owner and a mode that were right.
Now it says the filesystem is mounted read-only and what to do. Needs a tmpfs mounted
read-only: skipped where this process may not mount one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modbot.store import Store


@pytest.fixture
def read_only_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a filesystem here (needs CAP_SYS_ADMIN)")
    try:
        Store(disk / "modbot.sqlite3").close()  # a state a run left
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_state_on_a_read_only_filesystem_is_refused_saying_so(tmp_path, read_only_disk):
    state: Path = read_only_disk / "modbot.sqlite3"
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: []\n")
    env = {
        **os.environ,
        "LEMMY_URL": "http://127.0.0.1:9",
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "MODBOT_STATE": str(state),
        "MODBOT_RULES": str(rules),
    }
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "run", "--once"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    said = done.stderr.strip().splitlines()[-1]
    assert str(state) in said and "mounted read-only" in said, said
    assert "fix its owner or mode" not in said, said
