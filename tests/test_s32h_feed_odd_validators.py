"""A feed host whose ETag (or Last-Modified) holds a byte that is not ASCII (a server
writing a Latin-1 name into it): the feed verified, then keeping it in the state
failed (`UnicodeEncodeError`: SQLite takes no lone surrogate), so a one-shot run ended
with a traceback, and the daemon's and the gate's background fetch logged it and,
having kept nothing, downloaded the whole feed again at every cycle (and a restart had
no copy). Now such a validator is not kept (the next request is unconditional: a whole
download each period, as from a host that sends none) and the copy is kept."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fakelemmy import FakeLemmy
from modbot.config.policy import load_policy
from modbot.feeds import FeedEntry, make_feed, public_key_text, sign_feed
from modbot.store import Store
from modbot.subscriptions import load_kept, refresh

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
BAD = "ab" * 32


@pytest.mark.parametrize(
    "headers",
    [
        {"ETag": '"\u00e9t\u00e9"'},
        {"Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT\u00e9"},
    ],
)
def test_a_copy_served_with_an_odd_validator_is_kept(
    fake_lemmy: FakeLemmy, tmp_path: Path, headers: dict[str, str]
) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    entry = FeedEntry("sha256", BAD, "bad", "csam", date(2026, 1, 1))
    made = datetime.now(UTC).replace(microsecond=0)
    body, sig = sign_feed(make_feed("peer.example", [entry], generated_at=made), KEY)
    lemmy.add_remote_behaviour(
        "hashes.json", body, content_type="application/json", headers=headers
    )
    lemmy.add_remote_file("hashes.json.sig", sig, content_type="text/plain")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        f"feeds:\n  peer: {{url: '{lemmy.remote_url}/hashes.json', key: "
        f"'{public_key_text(KEY)}', use: known-bad, instance: peer.example}}\n"
    )
    policy, store = load_policy(rules), Store(tmp_path / "state.sqlite3")
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    kept = store.feed_copy("peer", body=False)
    assert kept is not None and kept["etag"] is None and kept["last_modified"] is None
    assert warnings == [] and policy.feeds["peer"].lookup({"sha256": BAD}) == "feed sha256"
    # not due again before `every`: nothing downloaded at the next cycle
    fetched_at = kept["fetched_at"]
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert store.feed_copy("peer", body=False)["fetched_at"] == fetched_at
    # a period later: the same file again (unconditional), checked, still kept
    store.feed_fetched("peer", time.time() - 7200)
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert warnings == [] and store.feed_copy("peer", body=False)["fetched_at"] > fetched_at
    # a restart has the copy
    again = load_policy(rules)
    load_kept(store, again)
    assert again.feeds["peer"].lookup({"sha256": BAD}) == "feed sha256"
    store.close()
