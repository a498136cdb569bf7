"""The daemon's `--report` adds again, the next cycle, the decisions of a cycle whose
adding failed part-way (a full disk under the report's temporary files). A decision
whose counting failed after its row was written was then in the report twice, and
counted twice."""

from __future__ import annotations

import json
import sqlite3

import pytest

from modbot.modes.report_stream import ReportBuilder, _DiskCounts


def record(n: int) -> dict:
    return {
        "decision_id": n,
        "run_id": "r",
        "dry_run": True,
        "item": {"kind": "post", "id": n},
        "image": {"url": f"https://x.example/{n}.jpg", "sha256": f"{n:064x}"},
        "rule": None,
        "actions": [],
    }


@pytest.mark.parametrize("fails_on", ["i", "f", "d"])  # item, file, decision marks
def test_a_decision_whose_adding_failed_is_in_the_report_once(fails_on, tmp_path, monkeypatch):
    real = _DiskCounts._new
    failing = {"on": True}

    def full_disk(self, key):
        if failing["on"] and key.startswith(fails_on):
            failing["on"] = False
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, key)

    monkeypatch.setattr(_DiskCounts, "_new", full_disk)
    with ReportBuilder(tmp_path / "r.json") as builder:
        with pytest.raises(sqlite3.OperationalError):
            builder.add(record(1))
        for n in (1, 2):  # the next cycle adds from the same row again
            builder.add(record(n))
        builder.write()
    doc = json.loads((tmp_path / "r.json").read_text())
    assert [d["decision_id"] for d in doc["decisions"]] == [1, 2]
    summary = doc["summary"]
    assert (summary["decisions"], summary["items"], summary["distinct_images"]) == (2, 2, 2)
