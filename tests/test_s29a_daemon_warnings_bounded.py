"""A daemon running for months keeps its memory bounded when a cycle warns each time
(Lemmy's comment paging loops, a listing that cannot be read, a feed refused): each
warning is logged with its cycle, and not also kept for the whole life of the process.
Before, the daemon kept every cycle's warnings in a list nothing read (its report has no
warnings section): one line a poll, a minute apart, grew without end."""

from __future__ import annotations

import logging

from support.bot import Bot
from support.policies import write_sweep_rules

from modbot.config.policy import load_policy
from modbot.config.settings import Settings
from modbot.modes.daemon import Daemon
from modbot.pipeline import Pipeline

LOOPING = "comments: Lemmy sent a page it sent before"


def test_a_warning_each_cycle_is_logged_each_cycle_and_not_kept(
    fake_lemmy, photos, tiny_checkpoint, tmp_path, caplog
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.bob, name="p")
    lemmy.add_comment(post, cast.alice, content="hello")

    first: list = []

    def looping(body):  # a full page each time, the same one: Lemmy's paging loops
        first[:] = first or body["comments"][:1]
        return {**body, "comments": first * 50}

    lemmy.tamper("/api/v3/comment/list", looping)
    rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint)
    bot = Bot(lemmy, tmp_path, rules)
    policy = load_policy(rules)
    caplog.set_level(logging.WARNING, logger="modbot")
    with Pipeline(Settings.from_env(bot.env), policy, dry_run=True) as pipeline:
        daemon = Daemon(pipeline, policy)
        for _ in range(6):
            daemon.cycle()
        said = [r.getMessage() for r in caplog.records if LOOPING in r.getMessage()]
        assert len(said) == 6, "each cycle says it"
        assert daemon.cycles == 6
        assert [w for w in pipeline.warnings if LOOPING in w] == [], "none kept after its cycle"
