"""A subscribed allow-list (or `classified` feed) whose publisher stopped updating it
stayed in use past its `max_age` exactly as a known-bad list does: its `innocent`
entries went on exempting files (and a classified feed's verdicts went on standing for
the classifier) for ever, on a word nobody renewed. A known-bad copy makes the bot do
more and still holds; these make it do less. Now such a copy matches nothing once older
than `max_age` (the bot does what it would without the feed), and each try says so."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fakelemmy import FakeLemmy
from modbot.config.policy import load_policy
from modbot.feeds import FeedEntry, make_feed, public_key_text, sign_feed
from modbot.rules import hash_matches
from modbot.store import Store
from modbot.subscriptions import load_kept, peer_verdict, refresh

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
FILE = hashlib.sha256(b"a file").hexdigest()


def serve(lemmy: FakeLemmy, generated_at: datetime, verdict: str) -> None:
    entry = FeedEntry("sha256", FILE, verdict, "csam", date(2026, 11, 2))
    feed = make_feed("peer.example", [entry], generated_at=generated_at)
    body, signature = sign_feed(feed, KEY)
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    lemmy.add_remote_file("hashes.json.sig", signature, content_type="text/plain")


def rules_file(lemmy: FakeLemmy, tmp_path: Path, use: str) -> Path:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"feeds:\n  peer: {{url: '{lemmy.remote_url}/hashes.json', key: "
        f"'{public_key_text(KEY)}', use: {use}, instance: peer.example, max_age: 7d}}\n"
        "rules:\n  - name: csam\n    if: {labels: [csam]}\n    then: {report: true}\n"
    )
    return rules


def used(policy, use: str) -> bool:
    """Whether the feed's word on FILE counts: an exemption, or the peer's verdict."""
    if use == "allow-list":
        return "peer" in hash_matches(policy, {"sha256": FILE})
    return peer_verdict(policy, {"sha256": FILE}) is not None


@pytest.mark.parametrize(
    ("use", "verdict", "means"),
    [
        ("allow-list", "innocent", "an allow-list that old exempts nothing"),
        ("classified", "bad", "its verdicts that old stand for nothing (the classifier decides)"),
    ],
)
def test_a_copy_past_max_age_is_not_used_and_said(
    fake_lemmy: FakeLemmy, tmp_path: Path, use: str, verdict: str, means: str
) -> None:
    remote = fake_lemmy.remote_url.split("//", 1)[1]
    url = f"{fake_lemmy.remote_url}/hashes.json"
    rules = rules_file(fake_lemmy, tmp_path, use)
    made = datetime.now(UTC).replace(microsecond=0) - timedelta(days=8)
    serve(fake_lemmy, made, verdict)
    policy, store = load_policy(rules), Store(tmp_path / "state.sqlite3")
    warnings: list[str] = []
    # fetched when it was fresh (an hour old), kept in the state
    refresh(
        store, policy, warn=warnings.append, allowed_hosts=[remote], now=made + timedelta(hours=1)
    )
    assert warnings == [] and policy.feeds["peer"].verified is not None
    assert policy.feeds["peer"].lapsed(made.timestamp() + 3600) is False
    # eight days on, the publisher still serves it: it is no longer used
    assert not used(policy, use)
    assert policy.feeds["peer"].describe().endswith(", past max_age: not used")
    store.feed_fetched("peer", time.time() - 7200)  # `every` has passed
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    (said,) = warnings
    assert said.startswith(f"feed 'peer' ({url}) refused: the feed was generated at ")
    assert said.endswith(
        f"; this copy of {made:%Y-%m-%d %H:%M} UTC is past max_age (1w) and not used: "
        f"{means}, until a newer copy comes"
    )
    assert not used(policy, use)

    # a restart with that copy kept, the publisher's host gone wrong meanwhile
    policy = load_policy(rules)
    load_kept(store, policy)
    assert policy.feeds["peer"].verified is not None and not used(policy, use)
    fake_lemmy.add_remote_behaviour("hashes.json", status=503)
    warnings.clear()
    store.feed_fetched("peer", time.time() - 7200)
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    (said,) = warnings
    assert " refused: http_503" in said
    assert said.endswith(
        f"; the copy of {made:%Y-%m-%d %H:%M} UTC is past max_age (1w) and not used: "
        f"{means}, until a newer copy comes"
    )

    # a newer copy, fresh: used again
    serve(fake_lemmy, datetime.now(UTC).replace(microsecond=0), verdict)
    warnings.clear()
    store.feed_fetched("peer", time.time() - 7200)
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert warnings == [] and used(policy, use)
    store.close()


def test_a_newer_copy_still_past_max_age_is_said_not_used(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    remote = fake_lemmy.remote_url.split("//", 1)[1]
    rules = rules_file(fake_lemmy, tmp_path, "allow-list")
    made = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
    serve(fake_lemmy, made, "innocent")
    policy, store = load_policy(rules), Store(tmp_path / "state.sqlite3")
    warnings: list[str] = []
    refresh(
        store, policy, warn=warnings.append, allowed_hosts=[remote], now=made + timedelta(hours=1)
    )
    serve(fake_lemmy, made + timedelta(days=2), "innocent")  # 8 days old: newer, still stale
    store.feed_fetched("peer", time.time() - 7200)
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    (said,) = warnings
    assert said.endswith(
        f"; newer than the copy of {made:%Y-%m-%d %H:%M} UTC it replaces, but not used: an "
        "allow-list that old exempts nothing, until a newer copy comes"
    )
    assert policy.feeds["peer"].verified.feed.generated_at == made + timedelta(days=2)
    assert not used(policy, "allow-list")
    store.close()


def test_a_known_bad_copy_past_max_age_stays_in_use(fake_lemmy: FakeLemmy, tmp_path: Path) -> None:
    """It makes the bot do more, and its entries still hold (docs/hash-sharing.md)."""
    remote = fake_lemmy.remote_url.split("//", 1)[1]
    rules = rules_file(fake_lemmy, tmp_path, "known-bad")
    made = datetime.now(UTC).replace(microsecond=0) - timedelta(days=8)
    serve(fake_lemmy, made, "bad")
    policy, store = load_policy(rules), Store(tmp_path / "state.sqlite3")
    refresh(store, policy, warn=print, allowed_hosts=[remote], now=made + timedelta(hours=1))
    assert not policy.feeds["peer"].lapsed()
    assert hash_matches(policy, {"sha256": FILE}) == {"peer": "feed sha256"}
    store.close()
