"""A one-shot run (`modbot sweep`, `modbot run --once`) fetches the subscribed feeds that
are due before it decides anything, unlike the daemon (which fetches them in the
background): its decisions are final, so a known-bad feed's hashes are to be in them.
The wait is said (which feed, from where, for how long at most) and bounded by the
feed's deadline, and SIGTERM or Ctrl-C ends it at once: the download is dropped, nothing
of it recorded (the next run fetches it), nothing decided, the run resumable."""

from __future__ import annotations

import hashlib
import re
import signal
import time
from datetime import UTC, date, datetime

import pytest
from support.bot import Bot, Lines, sha
from test_h24_feed_background import KEY, FeedHost

from modbot.feeds import FeedEntry, make_feed, public_key_text, sign_feed
from modbot.store import Store


@pytest.fixture
def host():
    h = FeedHost()
    yield h
    h.close()


def setup(lemmy, host, tiny, tmp_path, photo: bytes) -> Bot:
    """A feed of one known-bad hash (the photo's) that a rule removes, on ``host``; a
    read timeout long enough that only the stop can end the wait in the test."""
    entry = FeedEntry("sha256", hashlib.sha256(photo).hexdigest(), "bad", "csam", date.today())
    body, sig = sign_feed(make_feed("peer.example", [entry], generated_at=datetime.now(UTC)), KEY)
    host.files = {"/hashes.json": body, "/hashes.json.sig": sig}
    remote = lemmy.remote_url.split("//", 1)[1]
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {tiny.checkpoint},
             device: cpu, allow_random_weights: true}}
fetch: {{allow_hosts: ["{remote}", "{host.address}"], read_timeout: 5m}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
feeds:
  peer: {{url: "http://{host.address}/hashes.json", key: "{public_key_text(KEY)}",
          use: known-bad, instance: peer.example}}
rules:
  - name: known bad
    if: {{hash_list: peer}}
    then: {{remove: "known abusive image"}}
""")
    return Bot(lemmy, tmp_path, rules)


def waiting(bot: Bot, host: FeedHost, *args: str):
    """`modbot ARGS` started, once it waits for the feed's host and has said so."""
    run = bot.start(*args)
    err = Lines(run.stderr)
    assert host.asked.wait(60), err.text()[-3000:]
    end = time.monotonic() + 10
    while "feed peer: fetching" not in err.text() and time.monotonic() < end:
        time.sleep(0.05)
    return run, err


@pytest.mark.parametrize("command", [("sweep",), ("run", "--once")])
def test_a_one_shot_run_says_it_waits_for_a_feed_and_stops_at_once(
    fake_lemmy, photos, tiny, tmp_path, host, command
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(
        cast.pics, cast.bob, name="x", url=lemmy.add_remote_file("c.jpg", photos["coffee"])
    )
    bot = setup(lemmy, host, tiny, tmp_path, photos["coffee"])
    run, err = waiting(bot, host, *command)
    said = re.search(r"feed peer: fetching (\S+) \(up to (\d+) s\)", err.text())
    assert said, err.text()[-3000:]
    assert said.group(1) == f"http://{host.address}/hashes.json"
    assert int(said.group(2)) >= 120  # a feed's deadline: fetch.total_timeout, 2 min at least

    stopped = time.monotonic()
    run.send_signal(signal.SIGTERM)
    run.wait(60)
    err.join()
    assert time.monotonic() - stopped < 15, "the stop does not wait for the feed's host"
    assert not lemmy.post(post.id).removed
    assert bot.decisions() == [], "nothing decided without the feed"
    assert "feed 'peer'" not in err.text(), "a stop is no refusal of the feed"
    store = Store(bot.state)
    try:  # nothing recorded of the dropped download: the next run fetches it at once
        assert store.feed_copy("peer") is None
        assert store.get_cursor("feed:peer:refused") is None
    finally:
        store.close()


def test_a_sweep_decides_with_the_feed_it_waited_for(fake_lemmy, photos, tiny, tmp_path, host):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(
        cast.pics, cast.bob, name="x", url=lemmy.add_remote_file("c.jpg", photos["coffee"])
    )
    bot = setup(lemmy, host, tiny, tmp_path, photos["coffee"])
    run, err = waiting(bot, host, "sweep")
    assert bot.decisions() == [], "nothing decided while the feed is fetched"
    host.release.set()
    assert run.wait(120) == 0, err.text()[-3000:]
    err.join()
    assert lemmy.post(post.id).removed
    (record,) = bot.decisions()
    assert record["rule"] == "known bad"
    assert record["image"]["sha256"] == sha(photos["coffee"])
