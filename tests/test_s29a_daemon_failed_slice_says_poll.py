"""A daemon cycle whose poll went well and whose sweep slice then failed says what the
poll did: its items and actions, in the cycle's line with the error. Before, the log
said only "cycle N failed: ..." (and what the slice did first): a post the poll removed
that cycle was in no line of the log, though the metrics counted it."""

from __future__ import annotations

import logging

from support.bot import Bot, remote_photo, sha
from support.policies import BAD, write_sweep_rules

from modbot.config.policy import load_policy
from modbot.config.settings import Settings
from modbot.modes.daemon import Daemon
from modbot.pipeline import Pipeline


def test_a_failed_sweep_slice_still_says_what_the_poll_did(
    fake_lemmy, photos, tiny_checkpoint, tmp_path, caplog
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, known_bad=[sha(photos[BAD])])
    bot = Bot(lemmy, tmp_path, rules)
    policy = load_policy(rules)
    caplog.set_level(logging.INFO, logger="modbot")
    with Pipeline(Settings.from_env(bot.env), policy, dry_run=True) as pipeline:
        daemon = Daemon(pipeline, policy)
        daemon.cycle()  # the first poll (deep: it reads the communities too)
        bad = lemmy.add_post(cast.pics, cast.bob, name="bad", url=remote_photo(lemmy, photos, BAD))
        daemon.request_sweep()
        # the sweep reads the communities; Lemmy refuses that, every time
        lemmy.fail_next(
            "/api/v3/community/list", times=50, status=400, error="couldnt_find_community"
        )
        caplog.clear()
        daemon.cycle()
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("cycle 2")]
    assert line.startswith("cycle 2 failed: "), line
    assert "couldnt_find_community" in line
    assert "its poll: 1 items" in line and "remove:planned 1" in line, line
    (record,) = [r for r in bot.decisions() if r["item"]["id"] == bad.id]
    assert record["rule"] == "known abusive image"
