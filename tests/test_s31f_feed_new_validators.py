"""The copy in use served again with validators the kept copy does not have (the host
began sending an ETag, or the file was copied anew: a new Last-Modified, the same
bytes): the kept row's validators were not updated, so every period's conditional
request named the old ones and the whole feed (up to 32 MB) was downloaded again, until
the publisher published a new one. Now the new validators are kept: the next period
costs a 304."""

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


def serve(lemmy: FakeLemmy, body: bytes, signature: bytes, *, validators: bool) -> None:
    """The feed and its signature; ``validators``: as a plain static file (ETag,
    Last-Modified, 304 to a conditional request), else with neither."""
    plain = None if validators else {"cache-control": "no-cache"}
    lemmy.add_remote_behaviour("hashes.json", body, content_type="application/json", headers=plain)
    lemmy.add_remote_behaviour("hashes.json.sig", signature, content_type="text/plain")


def downloads(lemmy: FakeLemmy) -> list[int | None]:
    """The answers to the feed's requests so far (200: downloaded whole; 304)."""
    return [r.status for r in lemmy.requests if r.server == "remote" and r.path == "/hashes.json"]


def test_the_copy_in_use_with_new_validators_is_not_downloaded_each_period(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = f"{lemmy.remote_url}/hashes.json"
    key = Ed25519PrivateKey.generate()
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"feeds:\n  peer: {{url: '{url}', key: '{public_key_text(key)}', use: known-bad, "
        "instance: peer.example, max_age: 7d, every: 1h}\n"
    )
    policy, store = load_policy(rules), Store(tmp_path / "state.sqlite3")
    made = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    entry = FeedEntry("sha256", "ab" * 32, "bad", "csam", date(2026, 1, 1))
    body, signature = sign_feed(make_feed("peer.example", [entry], generated_at=made), key)
    warnings: list[str] = []

    def period() -> None:
        store.feed_fetched("peer", time.time() - 7200)  # `every` has passed
        refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])

    serve(lemmy, body, signature, validators=False)
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert downloads(lemmy) == [200]
    assert store.feed_copy("peer", body=False)["etag"] is None

    serve(lemmy, body, signature, validators=True)  # the same feed, now with an ETag
    period()
    assert downloads(lemmy) == [200, 200]
    kept = store.feed_copy("peer", body=False)
    assert kept["etag"] and kept["last_modified"], "the validators it was served with"
    assert kept["generated_at"] == made.isoformat()

    period()
    period()
    assert downloads(lemmy) == [200, 200, 304, 304]
    assert warnings == []
    assert len(policy.feeds["peer"]) == 1
    store.close()


def test_a_stale_copy_in_use_with_new_validators_costs_a_304_and_is_still_refused(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = f"{lemmy.remote_url}/hashes.json"
    key = Ed25519PrivateKey.generate()
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"feeds:\n  peer: {{url: '{url}', key: '{public_key_text(key)}', use: known-bad, "
        "instance: peer.example, max_age: 7d, every: 1h}\n"
    )
    policy, store = load_policy(rules), Store(tmp_path / "state.sqlite3")
    now = datetime.now(UTC).replace(microsecond=0)
    made = now - timedelta(days=8)
    entry = FeedEntry("sha256", "ab" * 32, "bad", "csam", date(2026, 1, 1))
    body, signature = sign_feed(make_feed("peer.example", [entry], generated_at=made), key)
    warnings: list[str] = []
    serve(lemmy, body, signature, validators=False)
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote], now=made)

    serve(lemmy, body, signature, validators=True)
    for _ in range(3):
        store.feed_fetched("peer", time.time() - 7200)
        refresh(store, policy, warn=warnings.append, allowed_hosts=[remote], now=now)
    assert downloads(lemmy) == [200, 200, 304, 304]
    assert len(warnings) == 3 and all("stopped updating" in w for w in warnings)
    assert store.get_cursor("feed:peer:refused") is not None
    store.close()
