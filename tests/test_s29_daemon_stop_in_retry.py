"""The daemon stopped (SIGTERM) while Lemmy is down: its cycle ends at once, not after a
request's retries (~15 s of backoff, past Docker's 10 s stop timeout, then kill -9), and
the log says the cycle stopped, not that it failed (aa456ed gave the transport a stop
event; the daemon now hands it its own)."""

from __future__ import annotations

import logging
import threading
import time

from support.bot import Bot
from support.policies import write_sweep_rules

from modbot.config.policy import load_policy
from modbot.config.settings import Settings
from modbot.modes.daemon import Daemon
from modbot.pipeline import Pipeline


def test_a_stop_during_lemmys_outage_ends_the_cycle_at_once(
    fake_lemmy, tiny_checkpoint, tmp_path, caplog
):
    lemmy = fake_lemmy
    rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint)
    bot = Bot(lemmy, tmp_path, rules)
    policy = load_policy(rules)
    with Pipeline(Settings.from_env(bot.env), policy, dry_run=True) as pipeline:
        daemon = Daemon(pipeline, policy)
        daemon.cycle()  # logged in, the session read
        lemmy.fail_next("/api/v3/post/list", times=50, status=502)  # Lemmy goes down
        caplog.set_level(logging.INFO, logger="modbot")
        threading.Timer(0.7, daemon.stop.set).start()  # SIGTERM, as its handler sets it
        started = time.monotonic()
        daemon.cycle()
        took = time.monotonic() - started
    assert took < 4, f"the cycle waited out the retries ({took:.1f} s)"
    said = [r for r in caplog.records if "cycle 2" in r.getMessage()]
    assert [r.levelname for r in said] == ["INFO"], [r.getMessage() for r in said]
    assert "stopped before its end" in said[0].getMessage()
