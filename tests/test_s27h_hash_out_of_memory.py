"""`modbot hash` when a hash's own code runs out of memory on a file. Since 85a2e2c
`compute_all` raises that MemoryError (it says nothing of the file), and `modbot hash`
ended with a traceback: nothing printed, not even the hashes of the other files. Now
that kind of that file has no hash, one line saying to try again, exit status 1 as for
a file it cannot hash; its other kinds and every other file print as usual."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import modbot.pdq
from modbot.cli import main

COFFEE = (Path(__file__).parent / "data" / "coffee.jpg").read_bytes()


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """Two image files; PDQ's code runs out of memory on the second."""
    fine, failing = tmp_path / "fine.jpg", tmp_path / "big.jpg"
    fine.write_bytes(COFFEE)
    failing.write_bytes(COFFEE + b"\0")  # other bytes: other hashes
    real = modbot.pdq.pdq_hash

    def pdq_hash(image):
        if image == failing.read_bytes():
            raise MemoryError("cannot allocate 512 MiB")
        return real(image)

    monkeypatch.setattr(modbot.pdq, "pdq_hash", pdq_hash)
    return str(fine), str(failing)


def test_out_of_memory_is_one_line_and_the_other_files_print(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fine, failing = files
    assert main(["hash", fine, failing]) == 1  # before: MemoryError, a traceback
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith(f"modbot hash: {failing}: no pdq: out of memory"), line
    assert "try again" in line, line
    printed = [row.split() for row in out.strip().splitlines()]
    kinds = ("sha256", "md5", "sha1", "phash", "pdq")
    assert {(kind, name) for kind, _hash, name, *_ in printed} == {
        (kind, fine) for kind in kinds
    } | {(kind, failing) for kind in kinds if kind != "pdq"}  # its other kinds print
    assert ["sha256", hashlib.sha256(COFFEE).hexdigest(), fine] in printed


def test_json_says_the_file_was_not_hashed(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fine, failing = files
    assert main(["hash", "--format", "json", "--kind", "pdq", fine, failing]) == 1
    first, second = json.loads(capsys.readouterr().out)
    assert first["file"] == fine and set(first["hashes"]) == {"pdq"} and not first["errors"]
    assert second["file"] == failing and second["hashes"] == {}
    assert "out of memory" in second["errors"]["pdq"], second
