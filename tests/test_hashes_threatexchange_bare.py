"""A file of bare PDQ hashes read as a python-threatexchange local_file: every line is
left out (python-threatexchange reads bare hashes only for a collaboration with a fixed
signal type), and the warning says the file is a list of format: plain."""

from __future__ import annotations

from pathlib import Path

from modbot.hashes import HashList
from modbot.threatexchange_files import read_local_file

PDQ = "00629e769e66365cb983b8668827f27c21a779e61e36e1f8c79927e67c8299e0"


def test_a_bare_pdq_hash_is_left_out_with_what_to_do(tmp_path: Path) -> None:
    got = read_local_file(f"{PDQ}\n{PDQ.upper()}\npdq\n")
    assert got.hashes == []
    why = "a bare hash without its signal type (64 hex digits): a file of bare hashes is "
    assert got.skipped == [
        (1, PDQ[:40], why + "a list of format: plain (kind: pdq or sha256)"),
        (2, PDQ.upper()[:40], why + "a list of format: plain (kind: pdq or sha256)"),
        (3, "pdq", "no signal after the signal type"),
    ]
    path = tmp_path / "bare.txt"
    path.write_text(f"{PDQ}\n")
    assert len(HashList.load(path, "pdq", format="plain")) == 1  # what the warning says
