"""A report whose file cannot be replaced (another user's in a sticky folder such as
/tmp: EPERM on the rename) is said naming that file, not the hidden temporary file it
was written to first, which is gone again."""

from __future__ import annotations

import errno
import os

import pytest

from modbot.errors import ReportError
from modbot.modes.report import write_report


def test_a_report_that_cannot_be_renamed_into_place_names_the_report(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    path.write_text("theirs")

    def refused(src, dst):
        raise PermissionError(errno.EPERM, "Operation not permitted", str(src), None, str(dst))

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(ReportError) as caught:
        write_report(path, [])
    said = str(caught.value)
    assert said.startswith(f"cannot write the report {path}: Operation not permitted")
    assert ".tmp" not in said, said
    assert path.read_text() == "theirs" and os.listdir(tmp_path) == ["r.json"]
