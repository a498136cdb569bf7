"""`modbot_actions_total` counts an action by its outcome as the reports and the run's
line say it: an action not sent because it was done before (the person banned already)
is `already_done`, the same action as another decision of the cycle is `repeat`, never
`skipped`, which stays for an action the bot did not take. Scraped over HTTP from
`python -m modbot run --metrics-port 0` against the fake Lemmy."""

from __future__ import annotations

from support.bot import Bot, remote_photo, sha
from support.policies import BAD, write_rules
from test_metrics import scrape, start_daemon, stop, value

RULES = """
  - name: bad
    if: {hash_list: known-bad}
    then:
      remove: bad
      ban: {scope: site, duration: permanent, reason: "known abusive"}
"""


def test_already_done_and_repeat_are_not_counted_as_skipped(fake_lemmy, photos, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    first = lemmy.add_post(cast.pics, cast.bob, name="a", url=remote_photo(lemmy, photos, BAD))
    # bob's second post, two bad images: its ban is done already (by the first post's
    # decision), and its second image's removal and ban repeat its first image's
    second = lemmy.add_post(
        cast.pics,
        cast.bob,
        name="b",
        url=remote_photo(lemmy, photos, BAD, "b.jpg"),
        body=f"again ![again]({remote_photo(lemmy, photos, BAD, 'c.jpg')})",
    )
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    bot = Bot(lemmy, tmp_path, rules)
    daemon, err, url = start_daemon(bot, "--metrics-port", "0")
    try:
        samples, _ = scrape(url)
    finally:
        stop(daemon, err)

    assert lemmy.post(first.id).removed and lemmy.post(second.id).removed
    assert lemmy.person(cast.bob.id).banned

    def actions(kind: str, status: str) -> float:
        return value(samples, "modbot_actions_total", kind=kind, status=status)

    assert actions("ban", "done") == 1
    assert actions("ban", "already_done") == 1
    assert actions("ban", "repeat") == 1
    assert actions("remove", "done") == 2
    assert actions("remove", "repeat") == 1
    assert actions("ban", "skipped") == 0, "nothing the bot did not take"
    assert actions("remove", "skipped") == 0
    # listed from the start for every kind, as the other outcomes (increase() sees the
    # first one)
    assert actions("purge_image", "already_done") == 0
    assert actions("report", "repeat") == 0
