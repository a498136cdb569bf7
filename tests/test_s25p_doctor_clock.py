"""`modbot doctor` compares this machine's clock with Lemmy's.

Before: a clock hours off passed every check, though a temporary ban's end is this
clock plus its duration (a 1h ban from a clock 2h behind ends before it starts), and
the polls' window, the feeds' ages and `modbot healthcheck` go by it too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.policies import write_rules

import modbot.doctor
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


def test_a_clock_in_step_with_lemmys_is_ok(fake_lemmy, env, capsys):
    status, found, out = doctor(capsys)
    assert status == 0, out
    assert found["clock"] == ("ok", "this machine's clock agrees with Lemmy's (within 1m)"), out
    assert list(found).index("clock") == list(found).index("lemmy") + 1
    assert fake_lemmy.mutating_requests() == []


@pytest.mark.parametrize("off, says", [(timedelta(hours=2), "2h ahead of"),
                                       (-timedelta(minutes=10), "10m behind")])  # fmt: skip
def test_a_clock_off_is_a_warning_saying_what_it_spoils(
    fake_lemmy, env, capsys, monkeypatch, off, says
):
    real = modbot.doctor._now
    monkeypatch.setattr(modbot.doctor, "_now", lambda: real() + off)
    status, found, out = doctor(capsys)
    assert status == 0, out  # a warning: the bot runs
    word, said = found["clock"]
    assert word == "warn" and f"this machine's clock is about {says} the time " in said, out
    assert "a temporary ban ends at this clock's time plus its duration" in said
    assert "NTP" in said
