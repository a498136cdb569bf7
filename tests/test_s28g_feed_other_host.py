"""A feed served from another host than its instance's (a static host, a CDN): its
refusal as `wrong_instance` says how to name the instance, not only "check the URL"
(the URL is right)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from test_hash_feeds import signed_feed

from fakelemmy import FakeLemmy


def test_a_feed_on_another_host_says_how_to_name_its_instance(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from modbot.config.policy import load_policy
    from modbot.feeds import public_key_text
    from modbot.store import Store
    from modbot.subscriptions import refresh

    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    key = Ed25519PrivateKey.generate()
    body, sig = signed_feed(key, datetime.now(UTC))  # published by peer.example
    url = lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    lemmy.add_remote_file("hashes.json.sig", sig, content_type="text/plain")
    rules = tmp_path / "rules.yaml"
    subscription = f"{{url: '{url}', key: '{public_key_text(key)}', use: known-bad"
    rules.write_text(f"feeds:\n  peer: {subscription}}}\n")
    store = Store(tmp_path / "state.sqlite3")
    warnings: list[str] = []
    refresh(store, load_policy(rules), warn=warnings.append, allowed_hosts=[remote])
    assert warnings == [
        f"feed 'peer' ({url}) refused: the feed is published by peer.example, not {remote}: "
        "check the URL; if it is peer.example's feed served from another host, name the "
        "instance (instance: peer.example for this feed in rules.yaml; --instance "
        "peer.example for `modbot feed verify`); no copy of it is used"
    ]

    # the advice taken: the feed is used
    rules.write_text(f"feeds:\n  peer: {subscription}, instance: peer.example}}\n")
    warnings.clear()
    policy = load_policy(rules)
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert warnings == [] and len(policy.feeds["peer"]) == 1
    store.close()
