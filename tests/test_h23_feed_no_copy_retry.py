"""A subscribed feed with no good copy yet whose fetch is refused (its host down, a
trickle that runs into the deadline, a bad signature) is fetched again `every` later,
as one with a copy is, not before every cycle: a slow host would otherwise hold up
every cycle by the download's deadline. The try is kept in the state file, so the next
`modbot run --once` (a new process) waits too; a change of the subscription in
rules.yaml (the URL, the key) is fetched at once."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from test_hash_feeds import peer_feed, serve_signed_feed

from fakelemmy import FakeLemmy
from modbot.config.policy import load_policy
from modbot.store import Store
from modbot.subscriptions import refresh


def fetches(lemmy: FakeLemmy) -> list[str]:
    return [r.path for r in lemmy.requests if r.path.startswith("/hashes")]


def test_a_refused_feed_with_no_copy_is_not_fetched_before_every_cycle(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = lemmy.add_remote_behaviour("hashes.json", b"down", status=503, content_type=None)
    key, policy, store = peer_feed(lemmy, tmp_path, url, every="1h")
    lemmy.clear_requests()
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert fetches(lemmy) == ["/hashes.json"]
    assert len(warnings) == 1 and "http_503" in warnings[0] and "no copy" in warnings[0]

    # the next cycles, within `every`: not asked again
    for _ in range(3):
        refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert fetches(lemmy) == ["/hashes.json"]
    store.close()

    # another process on the same state (the next `run --once`): not asked either
    policy2 = load_policy(tmp_path / "rules.yaml")
    store2 = Store(tmp_path / "state.sqlite3")
    refresh(store2, policy2, warn=warnings.append, allowed_hosts=[remote])
    assert fetches(lemmy) == ["/hashes.json"]

    # `every` later it is fetched again, and a good answer is taken
    serve_signed_feed(lemmy, key, datetime.now(UTC))
    tried = store2.get_cursor("feed:peer:refused")
    assert tried is not None
    record = json.loads(tried)
    record["at"] = time.time() - 3601
    store2.set_cursor("feed:peer:refused", json.dumps(record))
    refresh(store2, policy2, warn=warnings.append, allowed_hosts=[remote])
    assert fetches(lemmy) == ["/hashes.json", "/hashes.json", "/hashes.json.sig"]
    assert len(policy2.feeds["peer"]) == 1
    assert store2.get_cursor("feed:peer:refused") is None
    assert len(warnings) == 1
    store2.close()


def test_a_changed_subscription_with_no_copy_is_fetched_at_once(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    """The admin fixed the URL (or the key) after a refusal: the next cycle fetches it."""
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    wrong = lemmy.add_remote_behaviour("wrong.json", b"", status=404, content_type=None)
    _, policy, store = peer_feed(lemmy, tmp_path, wrong, every="1h")
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert len(warnings) == 1 and "http_404" in warnings[0]
    store.close()

    url = f"{lemmy.remote_url}/hashes.json"
    key, policy, store = peer_feed(lemmy, tmp_path, url, every="1h")
    serve_signed_feed(lemmy, key, datetime.now(UTC))
    lemmy.clear_requests()
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert fetches(lemmy) == ["/hashes.json", "/hashes.json.sig"]
    assert len(warnings) == 1 and len(policy.feeds["peer"]) == 1
    store.close()
