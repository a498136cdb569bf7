"""The bot's own account banned on the site, on Lemmy 1.0: it can still log in and read,
and every action it sends is refused (`site_ban`). Before, `modbot doctor` said "ok
login" and `modbot run` started, each action recorded failed and tried again every
cycle (a dry run failed on the admin's reads, the media list). Now doctor's login check
fails saying so, and a run refuses to start, saying what to do."""

from __future__ import annotations

import pytest
from support.policies import write_rules

from modbot.cli import main

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


@pytest.fixture
def env(fake_lemmy, tiny, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for key, value in {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": str(write_rules(tmp_path, fake_lemmy, tiny)),
    }.items():
        monkeypatch.setenv(key, value)
    fake_lemmy.cast.bot.banned = True  # by another admin


def test_doctor_says_the_bot_account_is_banned(fake_lemmy, env, capsys):
    status = main(["--env-file", "/dev/null", "doctor", "--timeout", "3"])
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.split()[1:2] == ["login"]]
    assert status == 1 and line.startswith("FAIL"), out
    assert "is banned on the site" in line and "lift the ban" in line, line
    assert fake_lemmy.mutating_requests() == []


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["live", "dry-run"])
def test_a_run_refuses_to_start_saying_why(fake_lemmy, env, capsys, dry_run):
    assert main(["run", "--once", *dry_run]) != 0
    err = capsys.readouterr().err
    assert "is banned on the site" in err and "lift the ban" in err, err
    assert fake_lemmy.mutating_requests() == []
