"""A rules file saved as UTF-16 (Notepad's "Unicode") was refused as "binary content (a
NUL byte), not text: is this a rules file?": now it says to save it as UTF-8."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TEXT = "rules:\n  - name: r\n    if: {labels: [csam]}\n    then: {remove: true}\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf16_rules_file_says_save_as_utf8(tmp_path: Path, encoding: str) -> None:
    data = TEXT.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    (tmp_path / "rules.yaml").write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "check-rules", "rules.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stdout.splitlines()[0] == (
        'rules.yaml:1: UTF-16 text (an editor\'s "Unicode"), not UTF-8: save the file as UTF-8'
    )
