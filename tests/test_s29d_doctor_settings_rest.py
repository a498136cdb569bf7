"""`modbot doctor` when the settings cannot be read (a variable missing, PICTRS_URL
without its key): the checks that do not need them still run.

Before: doctor printed the one settings line and stopped ("some checks failed"), though
the state file, rules.yaml and the model's weights need no login: an admin fixed the
.env, ran doctor again, and only then learnt that rules.yaml had a typo or the weights
were missing. (The .env template's placeholders already let the rest run.) Now they are
checked and said; nothing is sent to the instance."""

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


def test_a_missing_password_still_checks_the_state_the_rules_and_the_model(
    fake_lemmy, env, capsys, monkeypatch, tmp_path
):
    monkeypatch.delenv("LEMMY_PASSWORD")
    status, found, out = doctor(capsys)
    assert status == 1 and out.endswith("some checks failed\n"), out
    assert found["settings"][0] == "FAIL" and "LEMMY_PASSWORD" in found["settings"][1], out
    assert found["state"][0] == "ok" and str(tmp_path / "state.sqlite3") in found["state"][1]
    assert found["rules"][0] == "ok" and found["schedule"][0] in ("ok", "warn"), out
    word, said = found["classifier"]
    assert word == "warn" and "RANDOM WEIGHTS" in said, out
    assert not {"dns", "connect", "lemmy", "login", "pictrs"} & set(found), out
    assert fake_lemmy.requests == []


def test_a_typo_in_the_rules_is_said_beside_the_settings_problem(
    fake_lemmy, env, capsys, monkeypatch, tmp_path
):
    monkeypatch.setenv("PICTRS_URL", fake_lemmy.pictrs_url)  # without PICTRS_API_KEY
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules.read_text().replace("\nrules:\n", "\nrulez:\n", 1))
    status, found, out = doctor(capsys)
    assert status == 1, out
    assert found["settings"][0] == "FAIL" and "PICTRS_API_KEY" in found["settings"][1], out
    word, said = found["rules"]
    assert word == "FAIL" and "rulez" in said, out
    assert fake_lemmy.requests == []
