"""Two confirmed files with the same perceptual hash, one confirmed bad and the other
innocent: `modbot feed publish` wrote the entry of whichever file's SHA-256 sorts first,
so the hash went out as `innocent` as often as `bad`. A subscriber using the feed as an
allow-list then exempted near copies of a file this admin confirmed bad (or, as a
known-bad list, acted on copies of one confirmed innocent). A hash the admin's own
verdicts disagree on is now left out, saying why; one both files agree on goes once."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.feeds import generate_key, verify_feed_files
from modbot.sharing import publish
from modbot.store import Store

PDQ = "f" * 64


def confirm(store: Store, sha: str, verdict: str, pdq: str) -> None:
    store.set_confirmed(
        sha,
        {
            "verdict": verdict,
            "label": "csam" if verdict == "bad" else "false-positive",
            "hashes": {"sha256": {"hash": sha}, "pdq": {"hash": pdq, "quality": 100}},
            "first_seen": "2026-11-01",
            "confirmed_at": "2026-11-02T00:00:00Z",
        },
    )


@pytest.mark.parametrize("innocent_first", [True, False])
def test_a_pdq_confirmed_both_bad_and_innocent_is_not_published(
    tmp_path: Path, innocent_first: bool
) -> None:
    store = Store(tmp_path / "state.sqlite3")
    key = tmp_path / "feed.key"
    public = generate_key(key)
    bad, innocent = ("b" * 64, "a" * 64) if innocent_first else ("a" * 64, "b" * 64)
    confirm(store, bad, "bad", PDQ)
    confirm(store, innocent, "innocent", PDQ)
    confirm(store, "c" * 64, "bad", "e" * 64)
    confirm(store, "d" * 64, "bad", "e" * 64)  # the same verdict: the hash goes once
    done = publish(store, instance="a.example", key_path=key, out=tmp_path / "feed.json")
    entries = {
        (e.kind, e.hash): e.verdict for e in verify_feed_files(done.feed_path, public).feed.entries
    }
    assert ("pdq", PDQ) not in entries, entries
    assert entries[("pdq", "e" * 64)] == "bad"
    assert entries[("sha256", bad)] == "bad" and entries[("sha256", innocent)] == "innocent"
    why = [w for kind, h, w in done.left_out if (kind, h) == ("pdq", PDQ)]
    assert why and "both bad and innocent" in why[0], done.left_out
