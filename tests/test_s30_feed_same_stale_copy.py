"""A publisher that stopped updating, served by a host that ignores conditional
requests: the same feed comes back whole each period, past `max_age`. 7eee208 let a
stale feed newer than the copy in use replace it; the same copy (same generated_at)
passed as "newer" too: stored again, its refusal cleared (so `modbot doctor` no longer
said it), and the admins told every period that it was "newer than the copy ... it
replaces". Now the same copy is the copy in use, refused as stale as before."""

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


def serve(lemmy: FakeLemmy, key: Ed25519PrivateKey, when: datetime) -> None:
    """The feed from a host that sends no ETag or Last-Modified (no 304, ever)."""
    entry = FeedEntry("sha256", "ab" * 32, "bad", "csam", date(2026, 1, 1))
    body, signature = sign_feed(make_feed("peer.example", [entry], generated_at=when), key)
    plain = {"cache-control": "no-cache"}  # not a plain static file: no validators
    lemmy.add_remote_behaviour("hashes.json", body, content_type="application/json", headers=plain)
    lemmy.add_remote_behaviour(
        "hashes.json.sig", signature, content_type="text/plain", headers=plain
    )


def test_the_same_stale_copy_again_is_refused_as_stale(fake_lemmy: FakeLemmy, tmp_path: Path):
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
    made = now - timedelta(days=8)
    serve(lemmy, key, made)
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote], now=made)
    assert warnings == []
    fetched_at = store.feed_copy("peer", body=False)["fetched_at"]

    store.feed_fetched("peer", time.time() - 7200)  # `every` has passed; the same feed served
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote], now=now)
    (said,) = warnings
    assert said.startswith(f"feed 'peer' ({url}) refused: ") and "stopped updating" in said
    assert "newer than the copy" not in said
    assert store.get_cursor("feed:peer:refused") is not None, "kept for modbot doctor"
    assert store.feed_copy("peer", body=False)["fetched_at"] < fetched_at + 7200
    store.close()
