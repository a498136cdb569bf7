"""The 0.19 release modbot reads from nodeinfo (what a ban's remove_data takes, which
moderator is a community's first, the page cap of 0.19.14) was read once for the
process: a Lemmy upgraded under a running daemon was named by its old release in every
ban record and admins' message until a restart, and a nodeinfo a proxy answered 404
once left the release unknown for good. It is read again hourly, and one that could
not be read ten minutes later; the release last read stands meanwhile."""

from __future__ import annotations

from test_lemmy_client import client_for

from modbot.lemmy import v3


def test_the_release_is_read_again_after_an_hour_and_a_failed_read_after_ten_minutes(
    fake_lemmy, monkeypatch
):
    now = [1000.0]
    monkeypatch.setattr(v3.time, "monotonic", lambda: now[0])
    client = client_for(fake_lemmy)
    fake_lemmy.version = "0.19.9"
    assert client.release() == (0, 19, 9)
    fake_lemmy.version = "0.19.14"  # upgraded under the running bot
    now[0] += 60
    assert client.release() == (0, 19, 9) and client.last_page() == 100  # read an hour ago
    now[0] += v3.RELEASE_AGAIN_S
    assert client.release() == (0, 19, 14) and client.last_page() == 10
    # a nodeinfo that cannot be read: the release last read stands, asked again later
    for path in ("/nodeinfo/2.0.json", "/nodeinfo/2.1.json"):
        fake_lemmy.fail_next(path, times=1, status=404, error="not_found")
    fake_lemmy.version = "0.19.15"
    now[0] += v3.RELEASE_AGAIN_S
    assert client.release() == (0, 19, 14)
    now[0] += v3.NODEINFO_AGAIN_S
    assert client.release() == (0, 19, 15) and client.last_page() == 100
