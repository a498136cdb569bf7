"""`modbot doctor` on the .env `modbot init` wrote, not yet edited.

Before: the template's values passed the settings check ("ok settings LEMMY_URL
https://lemmy.example, account automod"); its placeholder host then failed as a DNS
problem, and with only the password left as the template's, doctor spent one of the few
logins Lemmy allows an hour on it and said "wrong username or password"."""

from __future__ import annotations

import pytest
from support.policies import write_rules

from modbot.cli import main


@pytest.fixture
def env(fake_lemmy, tiny, tmp_path, monkeypatch):
    for key, value in {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "PICTRS_URL": fake_lemmy.pictrs_url,
        "PICTRS_API_KEY": fake_lemmy.pictrs_api_key,
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": str(write_rules(tmp_path, fake_lemmy, tiny)),
    }.items():
        monkeypatch.setenv(key, value)


def doctor(capsys) -> tuple[int, dict[str, tuple[str, str]], str]:
    status = main(["--env-file", "/dev/null", "doctor", "--timeout", "3"])
    out = capsys.readouterr().out
    found = {}
    for line in out.splitlines()[:-1]:
        word, check, message = line.split(None, 2)
        found[check] = (word, message)
    return status, found, out


def test_the_templates_address_is_said_to_be_set(fake_lemmy, env, capsys, monkeypatch):
    monkeypatch.setenv("LEMMY_URL", "https://lemmy.example")
    status, found, out = doctor(capsys)
    assert status == 1, out
    word, said = found["settings"]
    assert word == "FAIL", out
    assert said.startswith(
        "LEMMY_URL is still the template's https://lemmy.example: set your instance's address "
        "in .env"
    ), out
    assert not {"url", "dns", "connect", "login"} & set(found), out  # nothing to reach
    assert "rules" in found and "classifier" in found  # the rest is still checked


def test_the_templates_password_is_never_sent(fake_lemmy, env, capsys, monkeypatch):
    monkeypatch.setenv("LEMMY_PASSWORD", "change-me")
    status, found, out = doctor(capsys)
    assert status == 1, out
    word, said = found["settings"]
    assert word == "FAIL" and said.startswith(
        "LEMMY_PASSWORD is still the template's placeholder: set the bot account's password"
    ), out
    assert found["lemmy"][0] == "ok" and "login" not in found, out  # reached, not logged in
    assert [r for r in fake_lemmy.requests if r.path.endswith("/user/login")] == []
