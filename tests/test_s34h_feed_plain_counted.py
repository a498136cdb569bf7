"""A feed's pHash entries of a picture of one colour (what HASHING 4-5 gave every plain
picture, or near it) are left out when the feed is loaded (156a665). The summary of a
fetched feed counted the PDQ entries it drops ("2 PDQ entries below quality 50
ignored") but not those: `modbot feed verify` said "valid: ... 1 entries" of a feed
its publisher signed with three, with nothing on its report of the two gone (a log
line aside). Both now say how many were left out, and why."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from test_hash_feeds import peer_feed

from fakelemmy import FakeLemmy
from modbot.cli import main
from modbot.feeds import Feed, FeedEntry, public_key_text, sign_feed


def _feed(key) -> tuple[bytes, bytes]:
    """A feed (signed as a publisher before HASHING 6 would have) of one SHA-256 and
    two pHash entries of plain pictures, and a PDQ below quality 50."""
    seen = date.today()
    entries = (
        FeedEntry("sha256", hashlib.sha256(b"bad").hexdigest(), "bad", "csam", seen),
        FeedEntry("phash", "8000000000000000", "bad", "csam", seen),
        FeedEntry("phash", "0000000000000001", "bad", "csam", seen),
        FeedEntry("pdq", "ab" * 32, "bad", "csam", seen, quality=20),
    )
    now = datetime.now(UTC).replace(microsecond=0)
    return sign_feed(Feed("peer.example", now, entries), key)


def test_feed_verify_says_the_plain_entries_left_out(tmp_path: Path, capsys) -> None:
    key = Ed25519PrivateKey.generate()
    body, sig = _feed(key)
    (tmp_path / "hashes.json").write_bytes(body)
    (tmp_path / "hashes.json.sig").write_bytes(sig)
    status = main(["feed", "verify", str(tmp_path / "hashes.json"), "--key", public_key_text(key)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "1 entries" in out, out
    assert "  ignored: 1 PDQ entries below quality 50" in out, out
    [said] = [line for line in out.splitlines() if "one colour" in line]
    assert said.startswith("  left out: 2 pHash entries"), out


def test_a_fetched_feed_s_summary_counts_the_plain_entries(
    fake_lemmy: FakeLemmy, tmp_path: Path, caplog
) -> None:
    from modbot.subscriptions import refresh

    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    key, policy, store = peer_feed(lemmy, tmp_path, f"{lemmy.remote_url}/hashes.json")
    body, sig = _feed(key)
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    lemmy.add_remote_file("hashes.json.sig", sig, content_type="text/plain")
    with caplog.at_level(logging.INFO, logger="modbot.subscriptions"):
        refresh(store, policy, warn=lambda _: None, allowed_hosts=[remote])
    store.close()
    assert len(policy.feeds["peer"]) == 1
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("feed peer: ")]
    assert said[-1] == (
        f"feed peer: feed known-bad, 1 entries of {date.today():%Y-%m-%d}; "
        "1 PDQ entries below quality 50 ignored (they match nothing); "
        "2 pHash entries of a picture of one colour left out (they would match plain "
        "pictures, not one)"
    ), said
