"""docs/hash-sharing.md: "the first copy of a new subscription that holds entries but
none its use takes" is said like a refusal (it protects nothing). A first copy whose
every entry was dropped as it was loaded (PDQ below quality 50, a plain picture's
pHash) held, once loaded, no entry at all, so nothing but an info line of the log said
that the subscription protects nothing: the warning counted the entries kept only.
It now counts those dropped too, and says why they were."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fakelemmy import FakeLemmy
from modbot.config.policy import load_policy
from modbot.feeds import Feed, FeedEntry, public_key_text, sign_feed
from modbot.store import Store
from modbot.subscriptions import refresh


def test_a_first_copy_whose_entries_were_all_dropped_is_said(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    key = Ed25519PrivateKey.generate()
    seen = date(2026, 1, 1)
    entries = (
        FeedEntry("pdq", "ab" * 32, "bad", "csam", seen, quality=20),
        FeedEntry("phash", "8000000000000000", "bad", "csam", seen),
    )
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    body, signature = sign_feed(Feed("peer.example", when, entries), key)
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    lemmy.add_remote_file("hashes.json.sig", signature, content_type="text/plain")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"feeds:\n  peer: {{url: '{lemmy.remote_url}/hashes.json', "
        f"key: '{public_key_text(key)}', use: known-bad, instance: peer.example}}\n"
    )
    policy, store = load_policy(rules), Store(tmp_path / "state.sqlite3")
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    store.close()
    assert len(policy.feeds["peer"]) == 0
    assert warnings == [
        f"feed 'peer': its copy ({when:%Y-%m-%d %H:%M} UTC) holds 2 entries, none of them "
        "used here (1 PDQ entries below quality 50 ignored (they match nothing); 1 pHash "
        "entry of a picture of one colour left out (they would match plain pictures, not "
        "one)): use: known-bad takes its 'bad' entries; check use: in rules.yaml, or ask "
        "its publisher"
    ], warnings
