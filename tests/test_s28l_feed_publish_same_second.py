"""Two `modbot feed publish` runs in the same second (an admin by hand just after
cron): the second feed is dated after the first's, as docs/hash-sharing.md says, so a
subscriber that has the first takes the second, with what was confirmed in between."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path

from modbot.config.policy import load_policy
from modbot.feeds import generate_key, verify_feed_files
from modbot.sharing import confirm, publish
from modbot.store import Store
from modbot.subscriptions import load_kept


def confirm_bad(store: Store, data: bytes, n: int) -> str:
    """A file the pipeline decided on, then an admin confirmed bad; its SHA-256."""
    sha = hashlib.sha256(data).hexdigest()
    store.add_decision(
        {
            "run_id": "r",
            "decided_at": f"2026-11-0{n}T10:00:00Z",
            "item": {"kind": "post", "id": n},
            "image": {"url": f"https://x/{n}.jpg", "sha256": sha, "hashes": {"sha256": sha}},
            "rule": None,
        }
    )
    confirm(store, sha256=sha, verdict="bad", label="csam")
    return sha


def test_a_second_publish_in_the_same_second_is_dated_after_the_first(tmp_path: Path) -> None:
    public = generate_key(tmp_path / "feed.key")
    out = tmp_path / "hashes.json"
    ours = Store(tmp_path / "publisher.sqlite3")
    now = datetime.now(UTC).replace(microsecond=500_000)

    def publish_now() -> tuple[datetime, bytes, bytes]:
        publish(ours, instance="a.example", key_path=tmp_path / "feed.key", out=out, now=now)
        feed = verify_feed_files(out, public, instance="a.example").feed
        return feed.generated_at, out.read_bytes(), Path(f"{out}.sig").read_bytes()

    one = confirm_bad(ours, b"one", 1)
    first = publish_now()
    two = confirm_bad(ours, b"two", 2)
    second = publish_now()  # the same second
    assert second[0] > first[0], (first[0], second[0])
    ours.close()

    # A subscriber's bot and gate share a state: the gate uses the first copy, the bot
    # fetches the second and keeps it; the gate takes it (a newer copy only).
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "feeds:\n  peer: {url: 'https://a.example/hashes.json', "
        f"key: '{public}', use: known-bad}}\n"
    )
    policy, theirs = load_policy(rules), Store(tmp_path / "subscriber.sqlite3")
    peer = policy.feeds["peer"]
    for generated_at, body, signature in (first, second):
        copy = {"body": body, "signature": signature, "fetched_at": time.time()}
        theirs.keep_feed_copy("peer", {**copy, "generated_at": generated_at.isoformat()})
        load_kept(theirs, policy)
    assert peer.lookup({"sha256": one}) == "feed sha256"
    assert peer.lookup({"sha256": two}) == "feed sha256"
    theirs.close()


def test_a_feed_dated_ahead_of_the_skew_subscribers_allow_is_not_followed(
    tmp_path: Path,
) -> None:
    """A feed at --out dated an hour ahead (written before the clock was set back):
    stepping past it would date every later feed in the future too, which subscribers
    refuse (over 10 minutes ahead of their clock); the new one is dated now."""
    from datetime import timedelta

    public = generate_key(tmp_path / "feed.key")
    out, store = tmp_path / "hashes.json", Store(tmp_path / "publisher.sqlite3")
    confirm_bad(store, b"one", 1)
    now = datetime.now(UTC).replace(microsecond=0)
    key = tmp_path / "feed.key"
    publish(store, instance="a.example", key_path=key, out=out, now=now + timedelta(hours=1))
    publish(store, instance="a.example", key_path=key, out=out, now=now)
    assert verify_feed_files(out, public).feed.generated_at == now
    store.close()
