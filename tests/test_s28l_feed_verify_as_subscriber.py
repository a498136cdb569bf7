"""`modbot feed verify URL` checks a feed "as a subscriber would" (docs/hash-sharing.md):
a feed replaced between its two downloads is fetched both once more, and the whole try
(the feed, its signature, and both again) has one deadline, as the bot's does."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from test_hash_feeds import peer_feed, signed_feed

from fakelemmy import FakeLemmy
from modbot import subscriptions
from modbot.cli import main
from modbot.feeds import public_key_text


def serve(lemmy: FakeLemmy, tmp_path: Path) -> tuple[list[str], bytes, bytes]:
    """The peer's feed served (and the `feed verify` command line for it), plus an older
    feed and its signature of the same publisher."""
    remote = lemmy.remote_url.split("//", 1)[1]
    url = f"{lemmy.remote_url}/hashes.json"
    key, _, store = peer_feed(lemmy, tmp_path, url)
    store.close()
    now = datetime.now(UTC).replace(microsecond=0)
    body, signature = signed_feed(key, now)
    old_body, old_signature = signed_feed(key, now - timedelta(hours=1))
    lemmy.add_remote_file("hashes.json", body, content_type="application/json")
    lemmy.add_remote_file("hashes.json.sig", signature, content_type="text/plain")
    lemmy.clear_requests()
    verify = ["feed", "verify", url, "--key", public_key_text(key), "--allow-host", remote]
    return verify, old_body, old_signature


def asked(lemmy: FakeLemmy) -> list[str]:
    return [r.path for r in lemmy.requests if r.path.startswith("/hashes")]


def test_a_feed_published_between_its_two_downloads_is_fetched_again(
    fake_lemmy: FakeLemmy, tmp_path: Path, capsys
) -> None:
    """The publisher wrote a new pair after the feed was downloaded, before its
    signature was: the subscriber fetches both once more and takes the new pair, so
    `feed verify` does too, rather than refusing a good feed as "changed"."""
    lemmy = fake_lemmy
    verify, old_body, _ = serve(lemmy, tmp_path)
    lemmy.tamper("/hashes.json", lambda _: old_body, times=1, server="remote")

    assert main(verify) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.startswith("valid: peer.example, generated ")
    assert asked(lemmy) == ["/hashes.json", "/hashes.json.sig"] * 2


def test_a_feed_that_changes_at_each_try_is_refused_after_the_second(
    fake_lemmy: FakeLemmy, tmp_path: Path, capsys
) -> None:
    lemmy = fake_lemmy
    verify, _, old_signature = serve(lemmy, tmp_path)
    lemmy.add_remote_file("hashes.json.sig", old_signature, content_type="text/plain")

    assert main(verify) == 1
    assert "does not match its signature file" in capsys.readouterr().err
    assert asked(lemmy) == ["/hashes.json", "/hashes.json.sig"] * 2


def test_the_feed_and_its_signature_have_one_deadline_in_all(
    fake_lemmy: FakeLemmy, tmp_path: Path, capsys, monkeypatch
) -> None:
    """Each file within the deadline, both together past it: the subscriber refuses
    the try as a timeout, where `feed verify` gave each download a deadline of its own
    and called the feed valid."""
    lemmy = fake_lemmy
    limits = subscriptions.feed_limits
    monkeypatch.setattr(
        subscriptions,
        "feed_limits",
        lambda f=None: dataclasses.replace(limits(f), total_timeout=1.0),
    )
    verify, _, _ = serve(lemmy, tmp_path)
    for path in ("/hashes.json", "/hashes.json.sig"):
        lemmy.delay(path, 0.6, server="remote")

    assert main(verify) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "timeout: the feed and its signature took longer than 1 s in all" in err, err
