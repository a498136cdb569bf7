"""A report written again after a write that failed part-way (a full disk) holds every
decision once, whole.

Before: ``ReportBuilder.write`` copies each section's rows from its temporary file; a
copy that failed (the disk full) left that file's position where the copy stopped, and
the next decision added was written there, over the rows already in it. The daemon's
``run --report``, which keeps one builder for its whole run and writes it every cycle,
then wrote reports with decisions lost and cards cut in half, for the rest of the run.
Now a failed copy leaves the rows as they were and the next one is added after them."""

from __future__ import annotations

import errno
import io
import json
import os
import re

import pytest

from modbot.modes.report_stream import ReportBuilder


def decision(n: int) -> dict:
    return {
        "decision_id": n,
        "run_id": "r1",
        "decided_at": "2026-11-21T10:00:00Z",
        "dry_run": True,
        "item": {"kind": "post", "id": n, "url": f"https://lemmy.example/post/{n}"},
        "image": {
            "url": f"https://lemmy.example/pictrs/image/{n}.jpg",
            "location": "post_url",
            "sha256": f"{n:064x}",
        },
        "scores": {"probe": 0.01, "csam": -0.2},
        "labels": ["probe"],
        "model": "m",
        "rule": "probe",
        "actions": [{"action": "report", "status": "planned", "detail": f"report post {n}"}],
        "skipped": None,
    }


class _FullDisk(io.FileIO):
    """The report's temporary file on a disk that fills after ``room`` bytes."""

    room = 200_000

    def write(self, data) -> int:  # type: ignore[override]
        if self.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


@pytest.mark.parametrize("name", ["report.html", "report.json"])
def test_a_report_written_after_a_full_disk_has_every_decision_once(tmp_path, monkeypatch, name):
    path = tmp_path / name
    with ReportBuilder(path) as builder:
        first = 3000  # more than one copy's chunk (1 MiB) of rows
        for n in range(1, first + 1):
            builder.add(decision(n))
        builder.write()
        good = path.read_bytes()

        real_fdopen = os.fdopen
        monkeypatch.setattr(os, "fdopen", lambda fd, mode: _FullDisk(fd, "w"))
        with pytest.raises(OSError, match="No space left"):
            builder.write()
        monkeypatch.setattr(os, "fdopen", real_fdopen)
        assert path.read_bytes() == good  # the last good report stays
        assert [p.name for p in tmp_path.iterdir()] == [name]  # no half file left

        # the disk has room again: the next cycle adds its decisions and writes
        for n in range(first + 1, first + 11):
            builder.add(decision(n))
        builder.write()

    text = path.read_text()
    if name.endswith(".json"):
        doc = json.loads(text)
        ids = [d["item"]["id"] for d in doc["decisions"]]
    else:
        ids = [int(i) for i in re.findall(r'href="https://lemmy.example/post/(\d+)"', text)]
        assert text.count("<article") == text.count("</article>") == len(ids)
        assert f"Decisions with a rule ({first + 10})" in text
    assert sorted(ids) == list(range(1, first + 11))
