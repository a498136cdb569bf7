"""A feed's try has one deadline in all: the feed, its signature, and both again when
the feed changed between the two downloads. Each download's own deadline alone let one
try take four of them (8 minutes with the feed's 2), a `run --once` waiting as long."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

from test_hash_feeds import peer_feed, signed_feed

from fakelemmy import FakeLemmy
from modbot import subscriptions
from modbot.subscriptions import refresh

DEADLINE = 1.0
EACH = 0.35  # every file takes this long: one try of two files fits, two do not


def test_a_feed_that_changed_between_its_files_is_fetched_again_within_one_deadline(
    fake_lemmy: FakeLemmy, tmp_path: Path, monkeypatch
) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    limits = subscriptions.feed_limits
    monkeypatch.setattr(
        subscriptions,
        "feed_limits",
        lambda f=None: dataclasses.replace(limits(f), total_timeout=DEADLINE),
    )
    key, policy, store = peer_feed(lemmy, tmp_path, lemmy.remote_url + "/hashes.json")
    body, _ = signed_feed(key, datetime.now(UTC))
    _, other_signature = signed_feed(key, datetime(2026, 1, 1, tzinfo=UTC))
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    lemmy.add_remote_file("hashes.json.sig", other_signature, content_type="text/plain")
    for path in ("/hashes.json", "/hashes.json.sig"):
        lemmy.delay(path, EACH, server="remote")
    lemmy.clear_requests()
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    asked = [r.path for r in lemmy.requests if r.path.startswith("/hashes")]
    # the first pair (changed), then the feed again, cut at the deadline of the whole try
    assert asked == ["/hashes.json", "/hashes.json.sig", "/hashes.json"], asked
    assert len(warnings) == 1, warnings
    assert "timeout: the feed and its signature took longer than 1 s in all" in warnings[0]
    store.close()
