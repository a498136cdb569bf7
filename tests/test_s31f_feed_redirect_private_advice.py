"""A feed whose host redirects it into the private network: the admins were told "if
this feed's host is one you trust, add 10.0.0.1:8080 to fetch.allow_hosts", naming the
address the redirect led to as the feed's host, so that an admin following the advice
let a peer's redirect reach an address inside their own network. Now the warning says
that the feed's host redirected there, and to allow it only as the publisher's own. A
feed URL that is itself private keeps the plain advice."""

from __future__ import annotations

from pathlib import Path

from test_hash_feeds import peer_feed

from fakelemmy import FakeLemmy
from modbot.subscriptions import refresh


def test_a_redirect_into_the_private_network_is_said_to_be_one(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = lemmy.add_remote_behaviour(
        "hashes.json", redirect_to="http://10.0.0.1:8080/feed/hashes.json", content_type=None
    )
    _, policy, store = peer_feed(lemmy, tmp_path, url)
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert warnings == [
        f"feed 'peer' ({url}) refused: private_address: host '10.0.0.1' resolves to "
        f"non-public address 10.0.0.1, where {remote} redirected the feed; if that is the "
        "publisher's own host (ask them), add 10.0.0.1:8080 to fetch.allow_hosts in "
        "rules.yaml (http://10.0.0.1:8080/feed/hashes.json); no copy of it is used"
    ]
    store.close()


def test_a_private_feed_url_keeps_the_plain_advice(fake_lemmy: FakeLemmy, tmp_path: Path) -> None:
    url = "http://10.0.0.1:8080/feed/hashes.json"
    _, policy, store = peer_feed(fake_lemmy, tmp_path, url)
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append)
    assert warnings == [
        f"feed 'peer' ({url}) refused: private_address: host '10.0.0.1' resolves to "
        "non-public address 10.0.0.1; if this feed's host is one you trust, add "
        f"10.0.0.1:8080 to fetch.allow_hosts in rules.yaml ({url}); no copy of it is used"
    ]
    store.close()
