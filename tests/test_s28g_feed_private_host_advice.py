"""A feed refused for a private address: the warning (logged, in the run's warnings,
sent to the admins) says what to do about a feed, not about images."""

from __future__ import annotations

from pathlib import Path

from test_hash_feeds import peer_feed

from fakelemmy import FakeLemmy


def test_a_feed_redirected_into_the_private_network_names_the_setting_to_allow_it(
    fake_lemmy: FakeLemmy, tmp_path: Path
) -> None:
    """The fetcher's own advice is for images ("an image server you trust", "the allowed
    hosts"); a feed's refusal names the host and where to allow it."""
    from modbot.subscriptions import refresh

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
        "publisher's own host (ask them), add 10.0.0.1:8080 to fetch.allow_hosts in rules.yaml "
        "(http://10.0.0.1:8080/feed/hashes.json); no copy of it is used"
    ]
    store.close()
