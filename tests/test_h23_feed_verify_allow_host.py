"""A feed on a private address (instances linked over a VPN) is refused by `modbot
feed verify` as by the bot, and the refusal says to allow its host; the bot takes
`fetch.allow_hosts`, and `feed verify` takes `--allow-host HOST` for the same."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_hash_feeds import peer_feed, serve_signed_feed

from fakelemmy import FakeLemmy
from modbot.cli import main
from modbot.feeds import public_key_text


def test_feed_verify_allows_a_private_host_when_told(
    fake_lemmy: FakeLemmy, tmp_path: Path, capsys
) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = f"{lemmy.remote_url}/hashes.json"
    key, _, store = peer_feed(lemmy, tmp_path, url)
    store.close()
    serve_signed_feed(lemmy, key, datetime.now(UTC))
    public = public_key_text(key)

    assert main(["feed", "verify", url, "--key", public]) == 1
    err = capsys.readouterr().err
    assert "private_address" in err and "--allow-host" in err

    assert main(["feed", "verify", url, "--key", public, "--allow-host", remote]) == 0
    assert capsys.readouterr().out.startswith("valid: peer.example, generated ")

    with pytest.raises(SystemExit) as exited:
        main(["feed", "verify", url, "--key", public, "--allow-host", "a:b:c"])
    assert exited.value.code == 2
    assert "argument --allow-host: allowed host 'a:b:c' is not a host" in capsys.readouterr().err
