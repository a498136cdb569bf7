"""Lists joined with `cat a.sha256 b.sha256 > all.sha256`, one of them saved by a
Windows editor, hold a byte order mark at the start of a line inside the file: that
line was refused, and with it the rules file ("expected a SHA-256 (64 hex digits),
got '\\ufeff9f86...'"). A byte order mark starting a line is read as the one at the
file's start is: nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.cli import main

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
OTHER = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
PDQ = "00629e769e66365cb983b8668827f27c21a779e61e36e1f8c79927e67c8299e0"
BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize(
    ("kind", "first", "second"),
    [("sha256", f"{SHA}  a.jpg", f"{OTHER}  b.jpg"), ("pdq", f"{'0' * 64}", f"{PDQ},100,b.jpg")],
)
def test_lists_joined_with_a_byte_order_mark_inside(
    kind: str, first: str, second: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "all.txt").write_bytes(
        BOM + f"{first}\r\n".encode() + BOM + f"# from Notepad\r\n{second}\r\n".encode()
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"hash_lists:\n  bad: {{kind: {kind}, file: all.txt}}\n")
    assert main(["check-rules", str(rules)]) == 0, capsys.readouterr().out
    (tmp_path / "all.txt").write_bytes(BOM + f"{first}\r\n".encode() + BOM + second.encode())
    assert main(["check-rules", str(rules)]) == 0, capsys.readouterr().out
