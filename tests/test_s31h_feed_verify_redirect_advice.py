"""`modbot feed verify` of a feed whose host redirects it into the private network said
"if this feed's host is one you trust, give --allow-host 10.0.0.1:8080", naming the
address the redirect led to as the feed's own host: an admin following it would let a
peer's redirect reach into their own network. Now it says, as the bot's subscription
does, that the feed's host redirected there, and to allow it only as the publisher's own
host. A feed URL that is itself private keeps the plain advice."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_hash_feeds import peer_feed

from fakelemmy import FakeLemmy
from modbot.cli import main
from modbot.feeds import public_key_text
from modbot.fetch import parse_host_entry


def test_feed_verify_says_a_redirect_into_the_private_network_is_one(
    fake_lemmy: FakeLemmy, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = lemmy.add_remote_behaviour(
        "hashes.json", redirect_to="http://10.0.0.1:8080/feed/hashes.json", content_type=None
    )
    key, _, store = peer_feed(lemmy, tmp_path, url)
    store.close()
    public = public_key_text(key)

    assert main(["feed", "verify", url, "--key", public, "--allow-host", remote]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "modbot feed verify: private_address: host '10.0.0.1' resolves to non-public "
        f"address 10.0.0.1 (http://10.0.0.1:8080/feed/hashes.json), where {remote} "
        "redirected the feed; if that is the "
        "publisher's own host (ask them), give --allow-host 10.0.0.1:8080 (the bot: "
        "fetch.allow_hosts in rules.yaml)\n"
    )


@pytest.mark.parametrize(
    ("url", "entry"),
    [
        ("http://10.0.0.1:8080/feed/hashes.json", "10.0.0.1:8080"),
        ("http://[fd00::1]:8080/feed/hashes.json", "[fd00::1]:8080"),
    ],
)
def test_feed_verify_of_a_private_feed_url_keeps_the_plain_advice(
    fake_lemmy: FakeLemmy, tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, entry: str
) -> None:
    key, _, store = peer_feed(fake_lemmy, tmp_path, url)
    store.close()

    assert main(["feed", "verify", url, "--key", public_key_text(key)]) == 1
    err = capsys.readouterr().err
    assert f"; if this feed's host is one you trust, give --allow-host {entry} (the bot: " in err
    assert "redirected" not in err
    parse_host_entry(entry)  # the advice is taken as it is written
