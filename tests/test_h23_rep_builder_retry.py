"""The daemon's report (`modbot run --report`) keeps one ReportBuilder for its run and,
each cycle, adds the decisions recorded after the last row it added; when adding fails
part-way (the temporary files' disk is full: an OSError the daemon logs and goes on
from), the next cycle adds the same rows again. Each decision must still be in the
report once, counted once, and the report must stay well-formed."""

from __future__ import annotations

import errno
import json
import tempfile

import pytest

from modbot.modes import report_stream
from modbot.modes.report import add_run_decisions
from modbot.modes.report_stream import ReportBuilder
from modbot.store import Store


def record(n: int) -> dict:
    return {
        "run_id": "run-1",
        "decided_at": "2026-11-21T10:00:00Z",
        "dry_run": False,
        "item": {"kind": "post", "id": n, "url": f"https://lemmy.example/post/{n}"},
        "image": {
            "url": f"https://x.example/{n}.jpg",
            "location": "post_url",
            "sha256": f"{n:064x}",
        },
        "scores": {"nsfw": 0.1},
        "labels": ["nsfw"],
        "rule": "nsfw",
        "actions": [{"action": "remove", "status": "done", "detail": f"remove post {n}"}],
        "skipped": None,
    }


_REAL_TEMPORARY_FILE = tempfile.TemporaryFile


class _Full:
    """A temporary file whose disk fills up in its second write (once): a part of that
    write reaches the disk, then ENOSPC."""

    def __init__(self) -> None:
        self.file = _REAL_TEMPORARY_FILE()
        self.writes = 0

    def write(self, data: bytes) -> int:
        self.writes += 1
        if self.writes == 2:
            self.file.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.file.write(data)

    def __getattr__(self, name):
        return getattr(self.file, name)


@pytest.mark.parametrize("name", ["r.json", "r.html"])
def test_a_cycle_that_failed_part_way_adds_each_decision_once(tmp_path, monkeypatch, name):
    store = Store(tmp_path / "state.sqlite3")
    for n in range(1, 5):
        store.add_decision(record(n))
    # all four decisions go to one section's file (.json: the decisions; .html: the
    # decisions with a rule, of one severity)
    monkeypatch.setattr(report_stream.tempfile, "TemporaryFile", _Full)
    builder = ReportBuilder(tmp_path / name)
    after = 0
    with pytest.raises(OSError):  # as the daemon's cycle: logged, the next cycle tries again
        after = add_run_decisions(builder, store, "run-1", after)
    after = add_run_decisions(builder, store, "run-1", after)
    builder.write()
    builder.close()
    store.close()

    text = (tmp_path / name).read_text()
    if name.endswith(".json"):
        doc = json.loads(text)
        assert sorted(d["item"]["id"] for d in doc["decisions"]) == [1, 2, 3, 4]
        assert doc["summary"]["decisions"] == 4
        assert doc["summary"]["by_action"] == {"remove": {"done": 4}}
    else:
        for n in range(1, 5):
            assert text.count(f'href="https://lemmy.example/post/{n}"') == 1, n
        assert "Decisions with a rule (4)" in text
        assert "4 images in 4 items" in text
