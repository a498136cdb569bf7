"""`modbot run` (the daemon) started while Lemmy does not answer (502 from its proxy,
a timeout: Lemmy starting, or migrating its database after an upgrade) exited 1 once
the transport's retries were spent. Under the shipped systemd unit (`Restart=on-failure`,
`RestartSec=60s`, `StartLimitBurst=5` an hour) five such exits in five minutes made
systemd give up for good: the bot stayed down after Lemmy came back. The daemon now
says it waits and until when, asks again (30 s, doubling), and starts once Lemmy
answers; a wrong URL or password still fails at once."""

from __future__ import annotations

import logging
import threading

from support.policies import write_sweep_rules
from test_daemon import in_process_config, sigterm_when, unhandled_signals  # noqa: F401

import modbot.doctor
import modbot.modes.daemon
from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.errors import LemmyError, LemmyUnavailable
from modbot.modes.daemon import watch

WAITS = "the daemon waits until "


def test_a_daemon_started_while_lemmy_is_down_waits_then_runs(
    tiny_checkpoint,
    tmp_path,
    monkeypatch,
    caplog,
    unhandled_signals,  # noqa: F811
):
    with FakeLemmy() as lemmy:
        lemmy.cast = standard_cast(lemmy)
        rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, poll_every="1s")
        settings, policy = in_process_config(lemmy, tmp_path, rules)
        connect_first = modbot.doctor.connect_first
        tries: list[int] = []

        def lemmy_down_twice(pipeline) -> None:
            tries.append(1)
            if len(tries) <= 2:  # what the transport raises once its retries are spent
                raise LemmyUnavailable("GET /site: still failing after 5 retries (HTTP 502)")
            connect_first(pipeline)

        monkeypatch.setattr(modbot.doctor, "connect_first", lemmy_down_twice)
        monkeypatch.setattr(modbot.modes.daemon, "START_RETRY_FIRST", 0.2)
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
        assert status == 0, caplog.text[-3000:]
        assert len(tries) == 3 and "cycle 1: " in caplog.text
        assert caplog.text.count(WAITS) == 2, caplog.text
        assert "(in 0 s) to start, then asks Lemmy again" in caplog.text
        assert "still failing after 5 retries (HTTP 502)" in caplog.text


def test_a_wrong_password_still_fails_the_daemon_at_once(
    tiny_checkpoint,
    tmp_path,
    monkeypatch,
    caplog,
    unhandled_signals,  # noqa: F811
):
    with FakeLemmy() as lemmy:
        lemmy.cast = standard_cast(lemmy)
        rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, poll_every="1s")
        settings, policy = in_process_config(lemmy, tmp_path, rules)
        tries: list[int] = []

        def refused(pipeline) -> None:
            tries.append(1)
            raise LemmyError("login as 'modbot': wrong password (incorrect_login)")

        monkeypatch.setattr(modbot.doctor, "connect_first", refused)
        try:
            watch(settings, policy, once=False, dry_run=False, report=None, lock_wait=None)
        except LemmyError as exc:
            assert "incorrect_login" in str(exc)
        else:
            raise AssertionError("the daemon did not fail")
        assert tries == [1] and WAITS not in caplog.text


def test_a_daemon_started_before_anything_listens_waits_not_exits(
    tiny_checkpoint,
    tmp_path,
    monkeypatch,
    caplog,
    unhandled_signals,  # noqa: F811
):
    # R2: the reboot case itself. Lemmy (or nginx before it) not listening yet is found by
    # the socket check before the login ("refused the connection"), which ended the start
    # at once: it is passing too, the daemon waits. A real closed port, nothing faked.
    with FakeLemmy() as lemmy:
        lemmy.cast = standard_cast(lemmy)
        rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, poll_every="1s")
        settings, policy = in_process_config(lemmy, tmp_path, rules)
    # the fake has stopped: nothing listens at LEMMY_URL's port now
    monkeypatch.setattr(modbot.modes.daemon, "START_RETRY_FIRST", 0.1)
    done = threading.Event()
    sigterm_when(lambda: caplog.text.count(WAITS) >= 2, done)
    try:
        with caplog.at_level(logging.INFO):
            status = watch(settings, policy, once=False, dry_run=False, report=None, lock_wait=None)
    finally:
        done.set()
    assert unhandled_signals == []
    assert status == 0, caplog.text[-3000:]
    assert "refused the connection: nothing listens there" in caplog.text
    assert "stopped before the first cycle" in caplog.text
