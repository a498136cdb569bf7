"""A new subscription whose feed holds entries, none of them of the kind its `use`
takes (`use: known-bad` on a feed of false positives, `classified` on a feed of PDQ
hashes only): it protected nothing, and nothing said so. Its first copy is now said
like a copy that lost its entries (the docs' "a new copy that holds no entries for the
subscription's use")."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fakelemmy import FakeLemmy
from modbot.config.policy import load_policy
from modbot.feeds import FeedEntry, make_feed, public_key_text, sign_feed
from modbot.store import Store
from modbot.subscriptions import refresh

PDQ = "00629e769e66365cb983b8668827f27c21a779e61e36e1f8c79927e67c8299e0"


@pytest.mark.parametrize(
    ("use", "entry", "takes"),
    [
        ("known-bad", ("sha256", "innocent"), "its 'bad' entries"),
        ("allow-list", ("sha256", "bad"), "its 'innocent' entries"),
        ("classified", ("pdq", "bad"), "its entries of an exact kind (sha256, md5, sha1)"),
    ],
)
def test_a_first_copy_with_no_entry_for_the_use_is_said(
    fake_lemmy: FakeLemmy, tmp_path: Path, use: str, entry: tuple[str, str], takes: str
) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = f"{lemmy.remote_url}/hashes.json"
    key = Ed25519PrivateKey.generate()
    kind, verdict = entry
    value = PDQ if kind == "pdq" else hashlib.sha256(b"x").hexdigest()
    feed = FeedEntry(kind, value, verdict, "csam", date(2026, 1, 1), 100 if kind == "pdq" else None)
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    body, signature = sign_feed(make_feed("peer.example", [feed], generated_at=when), key)
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    lemmy.add_remote_file("hashes.json.sig", signature, content_type="text/plain")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"feeds:\n  peer: {{url: '{url}', key: '{public_key_text(key)}', use: {use}, "
        "instance: peer.example}\n"
    )
    policy, store = load_policy(rules), Store(tmp_path / "state.sqlite3")
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert len(policy.feeds["peer"]) == 0
    assert warnings == [
        f"feed 'peer': its copy ({when:%Y-%m-%d %H:%M} UTC) holds 1 entry, none of them "
        f"used here: use: {use} takes {takes}; check use: in rules.yaml, or ask its publisher"
    ]
    store.close()


def test_an_empty_first_copy_and_a_used_one_are_not_said(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = f"{lemmy.remote_url}/hashes.json"
    key = Ed25519PrivateKey.generate()
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"feeds:\n  peer: {{url: '{url}', key: '{public_key_text(key)}', use: known-bad, "
        "instance: peer.example}\n"
    )
    bad = FeedEntry("sha256", hashlib.sha256(b"x").hexdigest(), "bad", "csam", date(2026, 1, 1))
    for entries in ([], [bad]):
        body, signature = sign_feed(make_feed("peer.example", entries), key)
        lemmy.add_remote_file("hashes.json", body, content_type="application/json")
        lemmy.add_remote_file("hashes.json.sig", signature, content_type="text/plain")
        policy, store = load_policy(rules), Store(tmp_path / f"{len(entries)}.sqlite3")
        warnings: list[str] = []
        refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
        assert warnings == []
        assert len(policy.feeds["peer"]) == len(entries)
        store.close()
