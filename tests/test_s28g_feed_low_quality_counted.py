"""docs/hash-sharing.md: "PDQ entries below quality 50 are dropped and counted, not
refused". A subscribed feed holding some says how many it dropped when it is fetched,
not only `modbot feed verify`."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path

from test_hash_feeds import peer_feed

from fakelemmy import FakeLemmy


def test_a_fetched_feed_says_how_many_pdq_entries_it_dropped(
    fake_lemmy: FakeLemmy, tmp_path: Path, caplog
) -> None:
    from modbot.feeds import CONTEXT, FeedEntry, make_feed, sign_feed
    from modbot.subscriptions import refresh

    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = f"{lemmy.remote_url}/hashes.json"
    key, policy, store = peer_feed(lemmy, tmp_path, url)
    bad = FeedEntry("sha256", hashlib.sha256(b"bad").hexdigest(), "bad", "csam", date.today())
    good_pdq = FeedEntry("pdq", "ab" * 32, "bad", "csam", date.today(), quality=90)
    body, _ = sign_feed(
        make_feed("peer.example", [bad, good_pdq], generated_at=datetime.now(UTC)), key
    )
    # another publisher's modbot (or a hand-made feed) that kept two flat images' PDQs
    lines = body.decode().split("\n")
    low = [
        json.dumps(
            {"kind": "pdq", "hash": h * 32, "quality": q, "verdict": "bad", "label": "csam"}
            | {"first_seen": date.today().isoformat()},
            separators=(",", ":"),
        )
        + ","
        for h, q in (("cd", 12), ("ef", 40))
    ]
    body = "\n".join([lines[0], *low, *lines[1:]]).encode()
    from modbot.feeds import public_key_text

    sig = (
        "modbot-hash-feed-signature/1\n"
        f"key: {public_key_text(key)}\n"
        f"sha256: {hashlib.sha256(body).hexdigest()}\n"
        f"signature: ed25519:{base64.b64encode(key.sign(CONTEXT + body)).decode()}\n"
    ).encode()
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    lemmy.add_remote_file("hashes.json.sig", sig, content_type="text/plain")
    warnings: list[str] = []
    with caplog.at_level(logging.INFO, logger="modbot.subscriptions"):
        refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert warnings == [] and len(policy.feeds["peer"]) == 2
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("feed peer: ")]
    assert said[-1] == (
        f"feed peer: feed known-bad, 2 entries of {date.today():%Y-%m-%d}; "
        "2 PDQ entries below quality 50 ignored (they match nothing)"
    )
    store.close()
