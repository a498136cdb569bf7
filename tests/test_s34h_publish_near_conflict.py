"""Two confirmed files whose perceptual hashes are near, not equal (a meme template's
abusive edit confirmed bad, another edit of it confirmed innocent: PDQs a few bits
apart), went out as they were: the same hash confirmed both ways was left out
(5d372c6), but one within the distance subscribers match at was not. A subscriber
using the feed as an allow-list then exempted from every rule the very file this admin
confirmed bad (its PDQ within 31 bits of the innocent entry), and one using it as a
known-bad list acted on copies of the file confirmed innocent. Now such a pair is left
out, both, saying why; hashes farther apart go out."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.feeds import generate_key, verify_feed_files
from modbot.sharing import publish
from modbot.store import Store

BAD_PDQ = "f0" * 32


def flip(value: str, bits: int) -> str:
    """``value`` (hex) with its lowest ``bits`` bits flipped."""
    width = len(value)
    return f"{int(value, 16) ^ ((1 << bits) - 1):0{width}x}"


def confirm(
    store: Store, sha: str, verdict: str, kind: str, value: str, quality: int | None = 100
) -> None:
    store.set_confirmed(
        sha,
        {
            "verdict": verdict,
            "label": "csam" if verdict == "bad" else "false-positive",
            "hashes": {
                "sha256": {"hash": sha},
                kind: {"hash": value, "quality": quality if kind == "pdq" else None},
            },
            "first_seen": "2026-11-01",
            "confirmed_at": "2026-11-02T00:00:00Z",
        },
    )


@pytest.mark.parametrize(
    ("kind", "bad", "near", "far"),
    [("pdq", BAD_PDQ, 12, 40), ("phash", "f0f0f0f0f0f0f0f0", 3, 9)],
)
def test_near_hashes_confirmed_both_ways_are_left_out(
    tmp_path: Path, kind: str, bad: str, near: int, far: int
) -> None:
    store = Store(tmp_path / "state.sqlite3")
    key = tmp_path / "feed.key"
    public = generate_key(key)
    innocent = flip(bad, near)
    confirm(store, "a" * 64, "bad", kind, bad)
    confirm(store, "b" * 64, "innocent", kind, innocent)
    # two far apart (beyond what subscribers match at) both go out
    other_bad = bad[::-1]
    confirm(store, "c" * 64, "bad", kind, other_bad)
    confirm(store, "d" * 64, "innocent", kind, flip(other_bad, far))
    done = publish(store, instance="a.example", key_path=key, out=tmp_path / "feed.json")
    store.close()
    feed = verify_feed_files(done.feed_path, public).feed
    entries = {(e.kind, e.hash): e.verdict for e in feed.entries}
    # what an allow-list subscriber does with it: the file confirmed bad is not spared
    assert feed.index(kind, "innocent").lookup(bad) is None, entries
    assert feed.index(kind, "bad").lookup(innocent) is None, entries
    assert (kind, bad) not in entries and (kind, innocent) not in entries, entries
    assert entries[(kind, other_bad)] == "bad"
    assert entries[(kind, flip(other_bad, far))] == "innocent"
    assert entries[("sha256", "a" * 64)] == "bad" and entries[("sha256", "b" * 64)] == "innocent"
    why = {h: w for k, h, w in done.left_out if k == kind}
    assert set(why) == {bad, innocent}, done.left_out
    assert why[bad].startswith(f"{near} bits from {innocent}, a file confirmed innocent"), why
    assert why[innocent].startswith(f"{near} bits from {bad}, a file confirmed bad"), why


def test_a_near_hash_not_published_still_counts(tmp_path: Path) -> None:
    """The innocent file's PDQ has no quality recorded (confirmed without --image): it is
    not published, but the file is one the admin confirmed innocent, and the bad entry
    near it would act on its copies at every subscriber."""
    store = Store(tmp_path / "state.sqlite3")
    key = tmp_path / "feed.key"
    public = generate_key(key)
    confirm(store, "a" * 64, "bad", "pdq", BAD_PDQ)
    confirm(store, "b" * 64, "innocent", "pdq", flip(BAD_PDQ, 5), quality=None)
    done = publish(store, instance="a.example", key_path=key, out=tmp_path / "feed.json")
    store.close()
    entries = {(e.kind, e.hash) for e in verify_feed_files(done.feed_path, public).feed.entries}
    assert entries == {("sha256", "a" * 64), ("sha256", "b" * 64)}, entries
    why = {h: w for k, h, w in done.left_out if k == "pdq"}
    assert why[BAD_PDQ].startswith(f"5 bits from {flip(BAD_PDQ, 5)}, a file confirmed innocent")
