"""A stop (SIGTERM, Ctrl-C) is not held up by a request waiting to be retried: with
Lemmy or pict-rs down, the backoffs of one request add up to ~15 s (0.5 + 1 + 2 + 4 + 8),
past Docker's 10 s stop timeout (then kill -9). Once the stop event is set, the wait ends
and the request fails as "stopping", a passing failure that no later request inherits."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from support.cli import bot_environment
from support.policies import write_rules
from test_w23_store_sweep_ends import RULES, jpeg

from modbot.cli import main
from modbot.config.settings import Secret
from modbot.errors import LemmyUnavailable
from modbot.lemmy import LemmyClient


def test_a_request_waiting_to_be_retried_fails_as_stopping_once_stop_is_set(fake_lemmy):
    stop = threading.Event()
    client = LemmyClient(fake_lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, stop=stop)
    fake_lemmy.fail_next("/api/v3/site", times=20, status=502)  # Lemmy down
    threading.Timer(0.7, stop.set).start()  # SIGTERM, as the handler sets it
    started = time.monotonic()
    with pytest.raises(LemmyUnavailable) as failed:
        client.api("GET", "/site", auth=False)
    assert time.monotonic() - started < 3, "it waited out the backoffs"
    assert failed.value.error == "stopping"
    assert "not retried: modbot is stopping" in str(failed.value)
    sent = [r for r in fake_lemmy.requests if r.path == "/api/v3/site"]
    assert 1 < len(sent) <= 3  # retried until the stop, then no more
    client.close()


def test_a_login_given_up_on_as_stopping_is_not_held_back_as_refused(fake_lemmy):
    stop = threading.Event()
    client = LemmyClient(fake_lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, stop=stop)
    fake_lemmy.fail_next("/api/v3/user/login", times=2, status=502)
    threading.Timer(0.7, stop.set).start()  # during the wait before the third try
    with pytest.raises(LemmyUnavailable, match="modbot is stopping"):
        client.login()
    stop.clear()  # (a stop in a test only): Lemmy's refusals are not what it kept
    client.login()  # tried at once, not "refused ... tried again 300 s after"
    assert client.logged_in
    client.close()


@pytest.mark.timeout(60)
def test_sigterm_while_pict_rs_is_down_stops_the_store_sweep_at_once(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    for i in range(2):
        fake_lemmy.add_upload(fake_lemmy.cast.alice, jpeg(i))
    rules = write_rules(tmp_path, fake_lemmy, tiny, known_bad=[], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, fake_lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    fake_lemmy.fail_next("/internal/hashes", times=50, status=502, server="pictrs")
    sent: list[float] = []

    def sigterm_at_the_first_retry() -> None:
        deadline = time.monotonic() + 50
        while time.monotonic() < deadline:
            tries = [r for r in fake_lemmy.requests if r.path == "/internal/hashes"]
            if len(tries) >= 2:  # retried: it waits for the next try now
                sent.append(time.monotonic())
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=sigterm_at_the_first_retry, daemon=True)
    watcher.start()
    status = main(["sweep", "--store", "--dry-run", "--page-size", "1"])
    ended = time.monotonic()
    watcher.join(1)
    assert sent, "pict-rs' page was never retried"
    assert ended - sent[0] < 3, f"stopped {ended - sent[0]:.1f} s after SIGTERM"
    assert status == 130
    out = capsys.readouterr().out
    assert "interrupted (run it again to resume)" in out
