"""The bot and the upload gate share the state file and fetch the same feeds. One that
fetched an older copy while the other kept a newer one does not write its older copy
over the newer: the state never goes back (a restart would use the older copy until
the next fetch, without the hashes the newer one added)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from test_hash_feeds import peer_feed, signed_feed

from fakelemmy import FakeLemmy
from modbot.config.policy import load_policy
from modbot.store import Store
from modbot.subscriptions import load_kept, refresh


def test_an_older_copy_fetched_meanwhile_does_not_replace_the_newer_one_kept(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = f"{lemmy.remote_url}/hashes.json"
    key, policy, store = peer_feed(lemmy, tmp_path, url)
    older_at = datetime.now(UTC) - timedelta(hours=2)
    body, signature = signed_feed(key, older_at)
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    # the signature comes slowly: the other process keeps its copy meanwhile
    lemmy.add_remote_behaviour("hashes.json.sig", signature, content_type=None, delay_s=1.5)

    warnings: list[str] = []
    slow = threading.Thread(
        target=refresh,
        args=(store, policy),
        kwargs={"warn": warnings.append, "allowed_hosts": [remote]},
    )
    slow.start()
    time.sleep(0.5)
    other = Store(tmp_path / "state.sqlite3")
    newer_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    newer_body, newer_signature = signed_feed(key, newer_at)
    other.keep_feed_copy(
        "peer",
        {
            "body": newer_body,
            "signature": newer_signature,
            "generated_at": newer_at.isoformat(),
            "fetched_at": time.time(),
        },
    )
    slow.join(30)
    assert not slow.is_alive()
    assert warnings == []

    kept = other.feed_copy("peer")
    assert kept is not None
    assert kept["body"] == newer_body
    assert datetime.fromisoformat(kept["generated_at"]) == newer_at
    # and a restart uses the newer copy
    restarted = load_policy(tmp_path / "rules.yaml")
    load_kept(other, restarted)
    assert restarted.feeds["peer"].verified.feed.generated_at == newer_at
    # the process that fetched the older copy takes the newer one too
    assert policy.feeds["peer"].verified.feed.generated_at == newer_at
    other.close()
    store.close()
