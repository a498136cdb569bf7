"""docs/hash-sharing.md says what a subscribed feed takes in memory (no figure was
given: an admin sizing the bot's and the gate's memory for a peer's large feed had
nothing to count): up to about 650 bytes an entry for the copy in use, and about 1 KB
an entry more for a moment while a new copy is checked. Checked on a feed of 20,000
SHA-256 entries, a tenth of the largest a subscriber takes."""

from __future__ import annotations

import hashlib
import tracemalloc
from datetime import UTC, date, datetime
from types import SimpleNamespace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from modbot.feeds import FeedEntry, make_feed, public_key_text, sign_feed, verify_feed
from modbot.subscriptions import FeedList

ENTRIES = 20_000


def test_a_feed_s_copy_takes_what_the_docs_say() -> None:
    key = Ed25519PrivateKey.generate()
    seen = date(2026, 11, 2)
    entries = [
        FeedEntry("sha256", hashlib.sha256(str(i).encode()).hexdigest(), "bad", "csam", seen)
        for i in range(ENTRIES)
    ]
    body, sig = sign_feed(make_feed("peer.example", entries, generated_at=datetime.now(UTC)), key)
    del entries
    settings = SimpleNamespace(use="known-bad", max_age=None)
    public = public_key_text(key)
    tracemalloc.start()
    try:
        verified = verify_feed(body, sig, public)
        checking = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        feed = FeedList("peer", settings)
        feed.load(verified)
        del verified
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(feed) == ENTRIES
    assert held < 700 * ENTRIES, f"{held / ENTRIES:.0f} bytes an entry held"
    assert checking < 1200 * ENTRIES, f"{checking / ENTRIES:.0f} bytes an entry to check"
