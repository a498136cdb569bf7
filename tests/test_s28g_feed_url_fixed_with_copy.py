"""A feed with a copy kept is refused (its publisher moved it: 404); the admin puts the
new URL in rules.yaml. The docs promise the changed subscription is fetched at once,
as it is with no copy kept, not `every` after the refused try."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from test_hash_feeds import peer_feed, signed_feed

from fakelemmy import FakeLemmy


def test_a_url_fixed_after_a_refusal_is_fetched_at_once_with_a_copy_kept(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    from modbot.subscriptions import refresh

    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    old_url = f"{lemmy.remote_url}/old/hashes.json"
    key, policy, store = peer_feed(lemmy, tmp_path, old_url, every="1d")
    first = datetime.now(UTC) - timedelta(hours=2)
    body, sig = signed_feed(key, first)
    lemmy.add_remote_file("old/hashes.json", body, content_type="application/json")
    lemmy.add_remote_file("old/hashes.json.sig", sig, content_type="text/plain")
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert warnings == [] and len(policy.feeds["peer"]) == 1

    # a day later the publisher has moved its feed: the old URL answers 404
    lemmy.add_remote_behaviour("old/hashes.json", b"gone", status=404, content_type="text/plain")
    store.feed_fetched("peer", time.time() - 2 * 86400)
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert len(warnings) == 1 and "http_404" in warnings[0]
    assert warnings[0].endswith("still using the copy of " + f"{first:%Y-%m-%d %H:%M} UTC")
    store.close()

    # the admin writes the new URL into rules.yaml; the next run fetches it there
    new_url = f"{lemmy.remote_url}/new/hashes.json"
    body, sig = signed_feed(key, datetime.now(UTC))
    lemmy.add_remote_file("new/hashes.json", body, content_type="application/json")
    lemmy.add_remote_file("new/hashes.json.sig", sig, content_type="text/plain")
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules.read_text().replace(old_url, new_url))
    from modbot.config.policy import load_policy
    from modbot.store import Store

    policy = load_policy(rules)
    store = Store(tmp_path / "state.sqlite3")
    lemmy.clear_requests()
    warnings.clear()
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert [(r.path, r.status) for r in lemmy.requests] == [
        ("/new/hashes.json", 200),
        ("/new/hashes.json.sig", 200),
    ]
    assert warnings == []
    kept = store.feed_copy("peer", body=False)
    assert kept is not None and time.time() - kept["fetched_at"] < 60
    assert policy.feeds["peer"].verified.feed.generated_at == datetime.fromisoformat(
        kept["generated_at"]
    )
    from modbot.subscriptions import refusal

    assert refusal(store, policy.feeds["peer"]) is None

    # and, fetched, it waits `every` again: the next run asks nothing
    policy = load_policy(rules)
    lemmy.clear_requests()
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert lemmy.requests == [] and warnings == []
    store.close()
