"""A feed fetched past its `max_age` but newer than the copy in use (the bot, or the
publisher's host, was down a while): it was refused as stale and the bot went on with
the older copy, staler still, so the known-bad hashes added since were not used. Now the
newer copy replaces it, and its age is still said."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fakelemmy import FakeLemmy
from modbot.config.policy import load_policy
from modbot.feeds import FeedEntry, make_feed, public_key_text, sign_feed
from modbot.store import Store
from modbot.subscriptions import refresh


def serve(lemmy: FakeLemmy, key: Ed25519PrivateKey, when: datetime, *files: bytes) -> None:
    entries = [
        FeedEntry("sha256", hashlib.sha256(f).hexdigest(), "bad", "csam", date(2026, 1, 1))
        for f in files
    ]
    body, signature = sign_feed(make_feed("peer.example", entries, generated_at=when), key)
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    lemmy.add_remote_file("hashes.json.sig", signature, content_type="text/plain")


def test_a_stale_copy_newer_than_the_one_in_use_replaces_it(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = f"{lemmy.remote_url}/hashes.json"
    key = Ed25519PrivateKey.generate()
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"feeds:\n  peer: {{url: '{url}', key: '{public_key_text(key)}', use: known-bad, "
        "instance: peer.example, max_age: 7d}\n"
    )
    policy, store = load_policy(rules), Store(tmp_path / "state.sqlite3")
    now = datetime.now(UTC).replace(microsecond=0)
    old, new = now - timedelta(days=12), now - timedelta(days=8)
    serve(lemmy, key, old, b"first")
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote], now=old)
    assert warnings == []

    serve(lemmy, key, new, b"first", b"added later")
    store.feed_fetched("peer", time.time() - 7200)  # `every` has passed
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote], now=now)
    peer = policy.feeds["peer"]
    assert peer.lookup({"sha256": hashlib.sha256(b"added later").hexdigest()}) == "feed sha256"
    assert warnings == [
        f"feed 'peer' ({url}): the feed was generated at {new:%Y-%m-%dT%H:%M:%SZ}, 8 days "
        "ago, over the 7 days a feed may be old: the publisher has stopped updating it; "
        f"used all the same, newer than the copy of {old:%Y-%m-%d %H:%M} UTC it replaces"
    ]
    kept = store.feed_copy("peer", body=False)
    assert kept is not None and kept["generated_at"] == new.isoformat()
    store.close()

    # a restart takes that copy, not the older one
    policy, store = load_policy(rules), Store(tmp_path / "state.sqlite3")
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote], now=now)
    assert len(policy.feeds["peer"]) == 2
    store.close()
