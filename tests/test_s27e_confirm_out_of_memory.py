"""`modbot confirm --image FILE` when a hash's code runs out of memory on the file.
Since 85a2e2c `compute_all` raises that MemoryError (it says nothing of the file), and
`confirm` ended with a traceback; before that, the confirmation was written without
the file's PDQ and nobody was told. Now it is one line saying so and what to do, exit
status 1 ("not recorded"), and the state is as it was: no confirmation half made, an
earlier one kept whole."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import modbot.pdq
from modbot.cli import main
from modbot.store import Store

COFFEE = (Path(__file__).parent / "data" / "coffee.jpg").read_bytes()
SHA = hashlib.sha256(COFFEE).hexdigest()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state file with one decision on COFFEE, as the pipeline records it."""
    path = tmp_path / "state.sqlite3"
    monkeypatch.setenv("MODBOT_STATE", str(path))
    store = Store(path)
    try:
        store.add_decision(
            {
                "run_id": "r",
                "decided_at": "2026-11-02T10:00:00Z",
                "item": {"kind": "post", "id": 1},
                "image": {"url": "https://x/1.jpg", "sha256": SHA, "hashes": {"sha256": SHA}},
                "rule": None,
            }
        )
    finally:
        store.close()
    (tmp_path / "coffee.jpg").write_bytes(COFFEE)
    return path


def confirmed(path: Path) -> list[dict]:
    store = Store(path)
    try:
        return list(store.confirmed())
    finally:
        store.close()


def test_out_of_memory_is_one_line_and_records_nothing(
    state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    image = str(tmp_path / "coffee.jpg")
    with monkeypatch.context() as m:
        m.setattr(modbot.pdq, "pdq_hash", _out_of_memory)
        assert main(["confirm", SHA, "--bad", "--label", "csam", "--image", image]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("modbot confirm: out of memory"), line
    assert "nothing was recorded or changed" in line and "try again" in line, line
    assert confirmed(state) == []  # before: the entry without its PDQ

    # An earlier confirmation stays as it was.
    assert main(["confirm", SHA, "--bad", "--label", "csam"]) == 0
    before = confirmed(state)
    capsys.readouterr()
    with monkeypatch.context() as m:
        m.setattr(modbot.pdq, "pdq_hash", _out_of_memory)
        assert main(["confirm", SHA, "--innocent", "--image", image]) == 1
    assert "out of memory" in capsys.readouterr().err
    assert confirmed(state) == before

    # With the memory back, the same command adds the PDQ with its quality.
    assert main(["confirm", SHA, "--bad", "--label", "csam", "--image", image]) == 0
    (entry,) = confirmed(state)
    assert entry["hashes"]["pdq"]["quality"] is not None


def _out_of_memory(image):
    raise MemoryError("cannot allocate 512 MiB")
