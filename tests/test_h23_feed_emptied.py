"""A subscribed feed whose new copy holds none (or far fewer) of the entries the copy
in use held: its publisher withdrew them or lost its state. The copy is signed, so it
is used as the publisher says, but the protection it gave is gone: the admins are
told (the run's warnings, the log, a message), not left to find out. A small change
says nothing."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from test_hash_feeds import peer_feed

from fakelemmy import FakeLemmy
from modbot.config.policy import load_policy
from modbot.feeds import FeedEntry, make_feed, sign_feed
from modbot.store import Store
from modbot.subscriptions import load_kept, refresh


def serve(lemmy: FakeLemmy, key: Any, count: int, generated_at: datetime) -> None:
    entries = [
        FeedEntry(
            "sha256", hashlib.sha256(str(i).encode()).hexdigest(), "bad", "csam", date.today()
        )
        for i in range(count)
    ]
    body, signature = sign_feed(make_feed("peer.example", entries, generated_at=generated_at), key)
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    lemmy.add_remote_file("hashes.json.sig", signature, content_type="text/plain")


def test_a_feed_that_empties_is_used_and_said(fake_lemmy: FakeLemmy, tmp_path: Path) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = f"{lemmy.remote_url}/hashes.json"
    key, policy, store = peer_feed(lemmy, tmp_path, url)
    start = datetime.now(UTC) - timedelta(hours=3)
    warnings: list[str] = []

    def fetch(count: int, at: datetime) -> None:
        serve(lemmy, key, count, at)
        store.feed_fetched("peer", time.time() - 7200)  # `every` has passed
        refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])

    serve(lemmy, key, 40, start)
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert len(policy.feeds["peer"]) == 40 and warnings == []

    fetch(35, start + timedelta(hours=1))  # a few withdrawn: nothing to say
    assert len(policy.feeds["peer"]) == 35 and warnings == []

    emptied = start + timedelta(hours=2)
    fetch(0, emptied)
    assert len(policy.feeds["peer"]) == 0  # used: the publisher signed it
    assert warnings == [
        f"feed 'peer': its new copy ({emptied:%Y-%m-%d %H:%M} UTC) holds 0 entries used "
        "here (known-bad), the copy before 35: its publisher withdrew them, or lost "
        "them; it is used as it is, ask them if that is unexpected"
    ]
    store.close()


def test_another_process_that_kept_the_emptied_copy_does_not_hide_it(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    """The gate fetched the emptied copy first: the bot, taking it from the state
    file, says so all the same."""
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = f"{lemmy.remote_url}/hashes.json"
    key, policy, store = peer_feed(lemmy, tmp_path, url)
    start = datetime.now(UTC) - timedelta(hours=3)
    serve(lemmy, key, 30, start)
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert len(policy.feeds["peer"]) == 30

    # the other process, on the same state file, fetches the emptied copy
    other = Store(tmp_path / "state.sqlite3")
    other_policy = load_policy(tmp_path / "rules.yaml")
    load_kept(other, other_policy)
    serve(lemmy, key, 3, start + timedelta(hours=1))
    other.feed_fetched("peer", time.time() - 7200)
    other_warnings: list[str] = []
    refresh(other, other_policy, warn=other_warnings.append, allowed_hosts=[remote])
    assert len(other_warnings) == 1 and "holds 3 entries used here" in other_warnings[0]

    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert len(policy.feeds["peer"]) == 3
    assert len(warnings) == 1 and "the copy before 30" in warnings[0]
    other.close()
    store.close()
