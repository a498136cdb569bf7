"""`modbot hash` (and `modbot confirm --image`) when reading the file itself runs out of
memory: a file of up to 200 MB is read whole, which under a low memory bound (RLIMIT_AS,
a container's limit) raises MemoryError. Before, that ended in a Python traceback, and
`modbot hash` printed nothing, not even the hashes of the other files. Now that file
gets one line saying so and to try again, the other files print, and the exit status is
1, as for the other files it cannot hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from modbot.cli import main

COFFEE = (Path(__file__).parent / "data" / "coffee.jpg").read_bytes()


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """Two image files; reading the second runs out of memory."""
    fine, failing = tmp_path / "fine.jpg", tmp_path / "big.jpg"
    fine.write_bytes(COFFEE)
    failing.write_bytes(COFFEE + b"\0")
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == failing:
            raise MemoryError
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    return str(fine), str(failing)


def test_hash_says_it_in_one_line_and_the_other_files_print(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fine, failing = files
    assert main(["hash", fine, failing]) == 1  # before: MemoryError, a traceback
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith(f"modbot hash: {failing}: out of memory reading it"), line
    assert "try again" in line, line
    printed = [row.split() for row in out.strip().splitlines()]
    assert {name for _kind, _hash, name, *_ in printed} == {fine}
    assert ["sha256", hashlib.sha256(COFFEE).hexdigest(), fine] in printed


def test_hash_json_says_the_file_was_not_read(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fine, failing = files
    assert main(["hash", "--format", "json", failing, fine]) == 1
    first, second = json.loads(capsys.readouterr().out)
    assert first["file"] == failing and first["hashes"] == {}
    assert "out of memory" in first["errors"]["file"], first
    assert second["file"] == fine and not second["errors"] and len(second["hashes"]) == 5


def test_confirm_image_says_it_in_one_line(
    files: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fine, failing = files
    monkeypatch.setenv("MODBOT_STATE", str(tmp_path / "state.sqlite3"))
    assert main(["confirm", "0" * 64, "--bad", "--image", failing]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith(f"modbot confirm: {failing}: out of memory reading it"), line
    assert not (tmp_path / "state.sqlite3").exists()  # nothing recorded
