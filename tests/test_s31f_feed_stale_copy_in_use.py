"""A publisher that stopped updating: past `max_age`, the feed it still serves (a 304,
or the same file again) is the copy in use. modbot keeps using it (its entries still
hold; nothing newer came), but the admins were told "refused: ... stopped updating it;
still using the copy of <the same date>", which reads as an older copy kept in place of
a refused newer one, and docs/hash-sharing.md said only "refused when older". Now the
warning says the copy in use is that one and why it stays, and the docs say so."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fakelemmy import FakeLemmy
from modbot.config.policy import load_policy
from modbot.feeds import FeedEntry, make_feed, public_key_text, sign_feed
from modbot.store import Store
from modbot.subscriptions import refresh


def test_a_stale_copy_in_use_is_said_to_stay_in_use(fake_lemmy: FakeLemmy, tmp_path: Path):
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
    made = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    entry = FeedEntry("sha256", "ab" * 32, "bad", "csam", date(2026, 1, 1))
    body, signature = sign_feed(make_feed("peer.example", [entry], generated_at=made), key)
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    lemmy.add_remote_file("hashes.json.sig", signature, content_type="text/plain")
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert warnings == []

    store.feed_fetched("peer", time.time() - 7200)  # `every` has passed; 9 days later
    refresh(
        store, policy, warn=warnings.append, allowed_hosts=[remote], now=made + timedelta(days=9)
    )
    (said,) = warnings
    assert said.startswith(f"feed 'peer' ({url}) refused: the feed was generated at ")
    assert "the publisher has stopped updating it" in said
    assert said.endswith(
        f"; still using this copy of {made:%Y-%m-%d %H:%M} UTC, as nothing newer came: its "
        "entries count until one does"
    )
    assert policy.feeds["peer"].lookup({"sha256": "ab" * 32}) == "feed sha256"
    store.close()
