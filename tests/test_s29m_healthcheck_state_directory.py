"""`modbot healthcheck --state DIR` (MODBOT_STATE naming the volume's folder, not the
file in it) says the state file is a directory, as `audit` and `undo` do.

Before: "reading or writing the state file DIR failed (disk I/O error): its disk or
filesystem reports an error (see `dmesg`; a disk going bad ...)": an admin would look
for a failing disk."""

from __future__ import annotations

import pytest

from modbot.cli import main


@pytest.mark.parametrize("command", [["healthcheck"], ["audit"], ["undo", "1"]])
def test_a_state_that_is_a_directory_is_said_so(tmp_path, capsys, command):
    folder = tmp_path / "data"
    folder.mkdir()
    assert main([*command, "--state", str(folder)]) == 1
    said = capsys.readouterr().err
    assert f"the state file {folder} is a directory: give the file in it, e.g. " in said, said
    assert "disk I/O error" not in said and "dmesg" not in said, said
    assert list(folder.iterdir()) == []
