"""A clock that went back (a host booted with its clock ahead, then set right by NTP):
a link checked "in the future" by it is not taken as checked a moment ago. Before, the
sweep trusted it until the clock caught up (days), and a file changed behind the link
meanwhile was never looked at: a known abusive image stayed up."""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta

from support.bot import Bot, sha
from support.policies import BAD, write_sweep_rules

from fakelemmy.state import now


def test_a_link_checked_while_the_clock_was_ahead_is_asked_again(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    link = lemmy.add_remote_file("meme.jpg", photos["chelsea"])
    post = lemmy.add_post(
        cast.pics, cast.bob, name="meme", url=link, published=now() - timedelta(days=1)
    )
    rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, known_bad=[sha(photos[BAD])])
    bot = Bot(lemmy, tmp_path, rules)
    bot("sweep", "--all", "--dry-run")  # the link downloaded and remembered
    # ...by a clock two days ahead: the state says it was checked two days from now
    with sqlite3.connect(bot.state) as db:
        assert db.execute("UPDATE files SET checked_at = ?", (time.time() + 2 * 86400,)).rowcount
    db.close()

    lemmy.add_remote_file("meme.jpg", photos[BAD])  # the file behind the link changed
    done = bot("sweep", "--all")
    assert lemmy.post(post.id).removed, done.stdout + done.stderr[-2000:]
