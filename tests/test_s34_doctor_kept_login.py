"""`modbot doctor` takes up the login the state keeps, as every command that logs in does.

Before: each doctor run sent a login of its own (five runs, five logins), though Lemmy
0.19 takes a few an hour per address (the register bucket: 3 by default): an admin who
ran doctor three times while setting up had the first `modbot run` refused for up to an
hour. And a login hold the state kept (Lemmy refused the bot's login for its rate) did
not stop doctor's login, which Lemmy counts again."""

from __future__ import annotations

import json
import time

import pytest
from support.policies import write_rules

from modbot.cli import main
from modbot.config.settings import Settings
from modbot.lemmy import connect
from modbot.session import keep_login
from modbot.store import Store


@pytest.fixture
def env(fake_lemmy, tiny, tmp_path, monkeypatch):
    values = {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "PICTRS_URL": fake_lemmy.pictrs_url,
        "PICTRS_API_KEY": fake_lemmy.pictrs_api_key,
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": str(write_rules(tmp_path, fake_lemmy, tiny)),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def doctor(capsys) -> tuple[int, dict[str, tuple[str, str]], str]:
    status = main(["--env-file", "/dev/null", "doctor", "--timeout", "3"])
    out = capsys.readouterr().out
    found = {}
    for line in out.splitlines()[:-1]:
        word, check, message = line.split(None, 2)
        found[check] = (word, message)
    return status, found, out


def logins(fake_lemmy) -> int:
    return len([r for r in fake_lemmy.requests if r.path.endswith("/user/login")])


def bot_logged_in(env) -> None:
    """The state as `modbot run` leaves it: its login's token kept."""
    settings = Settings.from_env()
    store = Store(env["MODBOT_STATE"])
    client = connect(settings, requests_per_minute=600, timeout=5, read_only=True)
    try:
        keep_login(client, store, settings)
        client.check_session()
    finally:
        client.close()
        store.close()


def test_doctor_takes_up_the_kept_login(fake_lemmy, env, capsys):
    bot_logged_in(env)
    assert logins(fake_lemmy) == 1
    for _ in range(3):
        status, found, out = doctor(capsys)
        assert status == 0, out
        word, said = found["login"]
        assert word == "ok", out
        assert said.startswith("logged in as 'modbot' (person "), out
        assert "the login the state keeps: no login sent" in said, out
    assert logins(fake_lemmy) == 1  # the bot's own: doctor sent none
    assert fake_lemmy.mutating_requests() == []


def test_a_dropped_kept_login_is_a_login_that_checks_the_password(fake_lemmy, env, capsys):
    bot_logged_in(env)
    fake_lemmy.invalidate_tokens("modbot")  # a password changed in Lemmy drops them all
    status, found, out = doctor(capsys)
    assert status == 0, out
    assert found["login"][0] == "ok", out
    assert "no login sent" not in found["login"][1], out
    assert logins(fake_lemmy) == 2
    # doctor writes nothing: its new token is not kept (the bot's next start logs in)
    store = Store(env["MODBOT_STATE"], read_only=True)
    try:
        kept = store.get_cursor(f"session:{fake_lemmy.url}:modbot")
    finally:
        store.close()
    assert fake_lemmy.invalidate_tokens("modbot") == 1  # doctor's; the kept one went before
    assert kept is not None


def test_a_login_hold_the_state_keeps_sends_no_login(fake_lemmy, env, capsys):
    store = Store(env["MODBOT_STATE"])
    now = time.time()
    held = {"requests": {}, "login": {"since": now, "until": now + 1800, "why": "refused"}}
    store.set_cursors([(f"holds:{fake_lemmy.url}", json.dumps(held))])
    store.close()
    status, found, out = doctor(capsys)
    assert logins(fake_lemmy) == 0, out
    assert status == 1, out
    word, said = found["login"]
    assert word == "FAIL", out
    assert "Lemmy refuses logins for now (rate_limit_error" in said, out
