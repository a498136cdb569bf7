"""A pict-rs purge whose answer timed out after pict-rs purged: the transport's retry
found the alias gone (404), and 33f1843 recorded the bot's own purge as "nothing
purged: ... gone before", covered, not counted by the safety valve (R's finding). A 404
on a retry is no proof of that: the purge is looked at again next cycle, as any whose
answer was lost, and recorded done, as the bot's, when pict-rs shows the alias gone."""

from __future__ import annotations

import sqlite3

from support.bot import Bot, sha
from support.policies import BAD, write_removal_rules


def purge_rows(state) -> list[tuple[str, str]]:
    with sqlite3.connect(state) as db:
        return list(db.execute("SELECT status, detail FROM actions WHERE kind = 'purge_image'"))


def test_a_purge_retried_after_a_lost_answer_is_recorded_as_this_bots_purge(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    upload = lemmy.add_upload(cast.alice, photos[BAD])
    lemmy.add_post(cast.pics, cast.alice, url=upload.url)
    lemmy.trickle("/internal/purge", 2, times=1, server="pictrs")
    bot = Bot(
        lemmy,
        tmp_path,
        write_removal_rules(
            tmp_path, lemmy, tiny_checkpoint, timeout="2s", known_bad=[sha(photos[BAD])]
        ),
    )
    done = bot("run", "--once")
    assert "pict-rs purge: timed out" in done.stderr
    assert not lemmy.image_exists(upload.alias)
    rows = purge_rows(bot.state)
    # the failed try asked pict-rs again before it was sent again (the executor's
    # verify): gone, so the bot's purge, done
    assert [status for status, _ in rows] == ["done"], rows
    assert "nothing purged" not in rows[0][1] and upload.alias in rows[0][1], rows
    assert "Lemmy shows it done: not sent again" in rows[0][1], rows
    sent = [r for r in lemmy.requests if r.path == "/internal/purge"]
    assert len(sent) == 2  # the first, its retry; not sent again after
