"""A long poll (a catch-up after downtime, a burst of posts) writes the daemon's
heartbeat as it goes, as a sweep slice does. Before, the heartbeat was written only
when the poll ended: `modbot healthcheck` (Docker's HEALTHCHECK) called a bot working
through a long poll unhealthy, and a restart began the catch-up again."""

from __future__ import annotations

import json

from support.bot import Bot
from support.policies import write_sweep_rules

from modbot.config.policy import load_policy
from modbot.config.settings import Settings
from modbot.modes.daemon import Daemon
from modbot.modes.health import HEARTBEAT_CURSOR
from modbot.pipeline import Pipeline


def test_the_heartbeat_is_written_while_a_poll_is_in_progress(
    fake_lemmy, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    for i in range(120):  # several pages
        lemmy.add_post(cast.pics, cast.bob, name=f"post {i}")
    rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint)
    bot = Bot(lemmy, tmp_path, rules)
    policy = load_policy(rules)
    with Pipeline(Settings.from_env(bot.env), policy, dry_run=False) as pipeline:
        daemon = Daemon(pipeline, policy)
        beats: list[dict] = []
        write = daemon.store.set_cursor

        def recording(name: str, value: str) -> None:
            if name == daemon.heartbeat_cursor:
                beats.append(json.loads(value))
            write(name, value)

        daemon.store.set_cursor = recording  # type: ignore[method-assign]
        daemon.cycle()
    assert daemon.heartbeat_cursor == HEARTBEAT_CURSOR
    polling = [b for b in beats if b["last_summary"] == "polling"]
    assert len(polling) >= 2, beats  # one after each batch of the poll
    assert all(b["last_ok"] for b in polling)
    assert beats[-1]["last_summary"].startswith("cycle 1: ")
