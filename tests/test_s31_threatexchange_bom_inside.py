"""A python-threatexchange local_file joined with `cat` from files one of which a
Windows editor saved holds a byte order mark at the start of a line inside it: that
line's hash was dropped with a warning ("`\\ufeffpdq` left out: not a ... signal
type"), a listed picture unmatched. A byte order mark starting a line is read as the
one at the file's start is (modbot's own list formats do so since 9c20bb6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.cli import main

PDQ = "00629e769e66365cb983b8668827f27c21a779e61e36e1f8c79927e67c8299e0"
OTHER = "f" * 8 + PDQ[8:]
BOM = b"\xef\xbb\xbf"


def test_a_byte_order_mark_inside_a_threatexchange_file_costs_no_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "joined.te").write_bytes(
        BOM + f"pdq {PDQ}\r\n".encode() + BOM + f"pdq {OTHER}\r\n".encode()
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "hash_lists:\n  industry: {kind: pdq, file: joined.te, format: threatexchange}\n"
    )
    assert main(["check-rules", str(rules)]) == 0
    out = capsys.readouterr().out
    assert "left out" not in out, out
    assert "industry (2 pdq" in out, out
