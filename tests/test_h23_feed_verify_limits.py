"""`modbot feed verify URL` checks a feed "as a subscriber would": a feed the bot
takes (its download may last 2 minutes, as a large feed on a slow link does) is valid
to `feed verify` too, not refused at the 30 s an image download has."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from test_hash_feeds import peer_feed, signed_feed

from fakelemmy import FakeLemmy
from modbot.cli import main
from modbot.feeds import public_key_text
from modbot.subscriptions import refresh


def test_feed_verify_waits_for_a_slow_feed_as_the_bot_does(
    fake_lemmy: FakeLemmy, tmp_path: Path, capsys
) -> None:
    lemmy = fake_lemmy
    remote = lemmy.remote_url.split("//", 1)[1]
    url = f"{lemmy.remote_url}/hashes.json"
    key, policy, store = peer_feed(lemmy, tmp_path, url)
    body, signature = signed_feed(key, datetime.now(UTC))
    # about 34 s to download: over an image's 30 s, within a feed's 2 minutes
    lemmy.add_remote_behaviour(
        "hashes.json", body, content_type=None, trickle_bytes_per_s=len(body) / 34
    )
    lemmy.add_remote_file("hashes.json.sig", signature, content_type="text/plain")

    verify = ["feed", "verify", url, "--key", public_key_text(key), "--allow-host", remote]
    warnings: list[str] = []
    # `feed verify` and the bot download it side by side (each waits the whole 34 s;
    # one after the other, the test waited twice as long)
    with ThreadPoolExecutor(1) as pool:
        verified = pool.submit(main, verify)
        refresh(store, policy, warn=warnings.append, allowed_hosts=[remote])  # the bot takes it
        assert verified.result() == 0
    assert capsys.readouterr().out.startswith("valid: peer.example, generated ")
    assert warnings == [] and len(policy.feeds["peer"]) == 1
    store.close()
