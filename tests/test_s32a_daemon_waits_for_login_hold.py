"""`modbot run` (the daemon) started while Lemmy holds its login back (a login refused
for its rate, kept in the state; 1.0's `register` bucket: 10 an hour per address) exited
1 at once: under systemd (`Restart=on-failure`, `StartLimitBurst=5` an hour) or Docker
(`restart: always`) a restart loop, and systemd gave up for good within minutes, so the
bot stayed down after the hold had ended. The daemon now says once that it waits, and
until when, sends nothing meanwhile, stops at once on SIGTERM (exit 0), and starts when
the hold ends."""

from __future__ import annotations

import json
import logging
import threading
import time

import httpx
from support.bot import Bot, Lines, stop_daemon, wait_for
from support.policies import write_rules, write_sweep_rules
from test_daemon import in_process_config, sigterm_when, unhandled_signals  # noqa: F401

import modbot.doctor
from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.modes.daemon import watch
from modbot.session import keep_login

LOGIN = "/api/v4/account/auth/login"
WAITS = "the daemon waits until "
REFUSED = "login as 'modbot': Lemmy refuses logins for now (rate_limit_error)"


def logins(lemmy) -> list:
    return [r for r in lemmy.requests if r.path == LOGIN]


def test_a_daemon_started_during_a_kept_login_hold_waits_for_its_end_then_runs(
    tiny_checkpoint,
    tmp_path,
    monkeypatch,
    caplog,
    unhandled_signals,  # noqa: F811
):
    with FakeLemmy(version="1.0") as lemmy:
        lemmy.cast = standard_cast(lemmy)
        rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, poll_every="1s")
        settings, policy = in_process_config(lemmy, tmp_path, rules)
        connect_first = modbot.doctor.connect_first
        ends: list[float] = []

        def started_during_a_hold(pipeline) -> None:
            if not ends:
                # the hold an earlier run kept in the state: Lemmy refused its login
                # (rate_limit_error) and takes logins again in 2 s; taken up as the start
                # takes it up (written here, not before: a slow start would outlast it)
                ends.append(time.time() + 2)
                kept = {"since": ends[0] - 3600, "until": ends[0], "why": REFUSED}
                pipeline.store.set_cursor(
                    f"holds:{lemmy.url}", json.dumps({"requests": {}, "login": kept})
                )
                keep_login(pipeline.client, pipeline.store, settings)
            connect_first(pipeline)

        monkeypatch.setattr(modbot.doctor, "connect_first", started_during_a_hold)
        done = threading.Event()
        sigterm_when(lambda: "cycle 1: " in caplog.text, done)
        try:
            with caplog.at_level(logging.INFO):
                status = watch(
                    settings, policy, once=False, dry_run=False, report=None, lock_wait=None
                )
        finally:
            done.set()
        assert unhandled_signals == []
        assert status == 0
        assert "cycle 1: " in caplog.text
        assert caplog.text.count(WAITS) == 1, caplog.text
        assert "Lemmy refuses logins for now" in caplog.text
        sent = logins(lemmy)
        assert [r.status for r in sent] == [200]
        assert sent[0].at >= ends[0]  # not before the hold's end


def test_a_daemon_refused_its_login_for_its_rate_waits_and_stops_at_once_on_sigterm(tiny, tmp_path):
    with FakeLemmy(version="1.0", login_rate_limit=(1, 3600)) as lemmy:
        lemmy.cast = standard_cast(lemmy)
        bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny))
        # another client at this address spent the hour's login
        spent = httpx.post(
            f"{lemmy.url}{LOGIN}", json={"username_or_email": "modbot", "password": PASSWORD}
        )
        assert spent.status_code == 200

        daemon = bot.start("run")
        err = Lines(daemon.stderr)
        try:
            wait_for(
                lambda: err.count(WAITS) == 1 or daemon.poll() is not None,
                what="the daemon's wait",
            )
            assert daemon.poll() is None, err.text()[-3000:]  # not exited 1
            # the healthcheck says why no cycle runs, not "no daemon cycle recorded yet"
            health = bot("healthcheck", rc=1)
            assert "the daemon waits until " in health.stdout + health.stderr, health
            assert "Lemmy refuses logins for now" in health.stdout + health.stderr, health
        finally:
            stop_daemon(daemon, err)  # at once: stop_daemon gives it 60 s, not an hour
        assert daemon.returncode == 0, err.text()[-3000:]
        text = err.text()
        assert err.count(WAITS) == 1, text[-3000:]
        assert "it takes them again in 3" in text  # 1.0's Retry-After, near an hour
        assert "stopped before the first cycle" in text
        assert [r.status for r in logins(lemmy)] == [200, 429]  # nothing sent meanwhile
        assert "Traceback" not in text
        stopped = bot("healthcheck", rc=1)
        assert "the daemon stopped at" in stopped.stdout + stopped.stderr, stopped
