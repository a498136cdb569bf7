"""A web page where a feed's signature should be: the warning (logged, in the run's
warnings, sent to the admins) says what it is and what to check."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_hash_feeds import peer_feed, signed_feed

from fakelemmy import FakeLemmy


@pytest.mark.parametrize("length", ["announced", "endless"])
def test_a_web_page_where_the_signature_should_be_says_so(
    fake_lemmy: FakeLemmy, tmp_path: Path, length: str
) -> None:
    """A web server that answers its HTML page, 200, for a file it does not have (a
    site's catch-all, a login page): the "signature" is kilobytes of HTML (its length
    announced, or a body that does not end). The refusal says it is no signature file,
    over the 1 KiB the docs give, and what to check, rather than a limit of 1025 bytes."""
    from modbot.subscriptions import refresh

    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = f"{lemmy.remote_url}/hashes.json"
    key, policy, store = peer_feed(lemmy, tmp_path, url)
    body, _ = signed_feed(key, datetime.now(UTC))
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    page = b"<!DOCTYPE html><html><body>" + b"Not here. " * 300 + b"</body></html>"
    if length == "announced":
        lemmy.add_remote_file("hashes.json.sig", page, content_type="text/html")
    else:
        lemmy.add_remote_behaviour("hashes.json.sig", page, content_type="text/html", endless=True)
    warnings: list[str] = []
    refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])
    assert warnings == [
        f"feed 'peer' ({url}) refused: too_large: the signature file is over 1,024 bytes: "
        "not a modbot feed signature, which is 4 short lines; check that the publisher "
        "serves the signature beside the feed, at this address (a web server may answer "
        f"a page of its own for a file it does not have) ({url}.sig); no copy of it is used"
    ]
    assert len(policy.feeds["peer"]) == 0
    store.close()
