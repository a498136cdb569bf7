"""A running daemon whose login Lemmy holds back (the token dropped, a new login refused
for its rate: 1.0's `register` bucket, a few an hour per address) failed every poll
with the whole hold's explanation, some 700 characters at ERROR, once per poll interval
for up to an hour: the log said nothing else. The hold is said in full once; the polls
after it, until it ends or changes, fail quietly (at DEBUG), with a short line at most
every ``HELD_SAID_EVERY``; the heartbeat still records each failure."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from support.bot import Bot
from support.policies import write_sweep_rules

import modbot.modes.daemon as daemon_mode
from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.config.policy import load_policy
from modbot.config.settings import Settings
from modbot.lemmy.transport import Held
from modbot.modes.daemon import Daemon
from modbot.pipeline import Pipeline
from modbot.store import Store

LOGIN = "/api/v4/account/auth/login"


@pytest.mark.slow
def test_a_held_login_is_said_once_not_at_every_poll(
    tiny_checkpoint, tmp_path, caplog, monkeypatch
):
    with FakeLemmy(version="1.0", login_rate_limit=(1, 3600)) as lemmy:
        lemmy.cast = standard_cast(lemmy)
        rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint)
        bot = Bot(lemmy, tmp_path, rules)
        policy = load_policy(rules)
        with Pipeline(Settings.from_env(bot.env), policy, dry_run=False) as pipeline:
            daemon = Daemon(pipeline, policy)
            # each poll asks Lemmy whether the login lives (as one poll_every past the
            # session's check interval does; an admin bot's media list too)
            pipeline.session._check_every = 0.0
            daemon.cycle()  # logged in: the hour's one login
            lemmy.invalidate_tokens("modbot")  # dropped: a logout elsewhere
            caplog.set_level(logging.DEBUG, logger="modbot")
            for _ in range(4):
                daemon.cycle()
            errors = [
                r.getMessage()
                for r in caplog.records
                if r.levelno >= logging.WARNING and r.name == "modbot.daemon"
            ]
            assert len(errors) == 1, errors
            assert "cycle 2 failed" in errors[0] and "Lemmy refuses logins for now" in errors[0]
            beat = json.loads(pipeline.store.get_cursor("daemon:heartbeat") or "{}")
            assert "Lemmy refuses logins for now" in (beat.get("last_error") or ""), beat

            # after HELD_SAID_EVERY, a short line says it still holds, and until when
            monkeypatch.setattr(daemon_mode, "HELD_SAID_EVERY", 0.0)
            caplog.clear()
            daemon.cycle()
            said = [
                r.getMessage()
                for r in caplog.records
                if r.levelno >= logging.WARNING and r.name == "modbot.daemon"
            ]
            assert len(said) == 1 and "cycle 6 failed" in said[0], said
            assert "still" in said[0] and "UTC" in said[0], said
            assert len(said[0]) < 300, said
        assert [r.status for r in lemmy.requests if r.path == LOGIN] == [200, 429]


class _Stats:
    def summary(self) -> str:
        return "3 items; 1 removed"


def test_a_poll_whose_sweep_slice_is_held_still_says_what_it_did(tmp_path, caplog):
    """The poll went well, the sweep slice after it was held: what the poll did is said
    at each cycle (in no other line), the hold once."""
    until = time.monotonic() + 3600
    hold = "remove post: rate limited: Lemmy takes requests again in 3600 s"

    def sweep(*args, **kwargs):
        raise Held(hold, until=until, error="rate_limit_error")

    store = Store(tmp_path / "state.sqlite3")
    pipeline = SimpleNamespace(
        store=store,
        dry_run=False,
        run_id="r1",
        poll_once=lambda **kwargs: _Stats(),
        sweep=sweep,
        cycle_stats=None,
        warnings=[],
        # what a backlog slice asks of its walk (5dd10fd: its part noted for the report)
        source=SimpleNamespace(sweep_in_progress=lambda: False, scope="live"),
        sweep_ended=False,
    )
    schedule = SimpleNamespace(poll_every=timedelta(seconds=60), sweep_since=None)
    try:
        daemon = Daemon(pipeline, SimpleNamespace(schedule=schedule))
        daemon.request_sweep()
        caplog.set_level(logging.INFO, logger="modbot")
        for _ in range(3):
            daemon.cycle()
    finally:
        store.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "modbot.daemon"]
    polls = [line for line in lines if "its poll: 3 items; 1 removed" in line]
    assert len(polls) == 3, lines  # each poll said
    assert sum(hold in line for line in lines) == 1, lines  # the hold once
