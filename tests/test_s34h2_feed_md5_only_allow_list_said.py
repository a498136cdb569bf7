"""A new allow-list subscription whose feed's innocent entries are all MD5 or SHA-1 (an
older modbot published them so, or a publisher of industry lists) spares nothing since
such entries are not taken (a collision would spare another file). Its first copy was
said to hold entries "none of them used here: use: allow-list takes its 'innocent'
entries": the admin, reading that the feed holds innocent entries, had nothing to go on.
The warning now says why they were not taken."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fakelemmy import FakeLemmy
from modbot.config.policy import load_policy
from modbot.feeds import Feed, FeedEntry, public_key_text, sign_feed
from modbot.store import Store
from modbot.subscriptions import refresh


def test_an_allow_list_of_md5_entries_only_says_why_none_is_used(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    key = Ed25519PrivateKey.generate()
    seen = date(2026, 1, 1)
    entries = (
        FeedEntry("md5", hashlib.md5(b"a").hexdigest(), "innocent", "false-positive", seen),
        FeedEntry("sha1", hashlib.sha1(b"a").hexdigest(), "innocent", "false-positive", seen),
    )
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    body, signature = sign_feed(Feed("peer.example", when, entries), key)
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    lemmy.add_remote_file("hashes.json.sig", signature, content_type="text/plain")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"feeds:\n  peer: {{url: '{lemmy.remote_url}/hashes.json', "
        f"key: '{public_key_text(key)}', use: allow-list, instance: peer.example}}\n"
    )
    policy, store = load_policy(rules), Store(tmp_path / "state.sqlite3")
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    store.close()
    assert len(policy.feeds["peer"]) == 0
    assert warnings == [
        f"feed 'peer': its copy ({when:%Y-%m-%d %H:%M} UTC) holds 2 entries, none of them "
        "used here (2 innocent MD5/SHA-1 entries not taken (a file made to collide with "
        "one would be spared; innocent is taken by SHA-256)): use: allow-list takes its "
        "'innocent' entries; check use: in rules.yaml, or ask its publisher"
    ], warnings
