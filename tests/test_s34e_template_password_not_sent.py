"""`modbot run`, `sweep` and `report` on the .env `modbot init` wrote, its password not
yet edited: `modbot doctor` refuses to send the template's placeholder (25p), but these
sent it, spending one of the few logins Lemmy allows an hour (0.19: 3 by default) on a
password Lemmy cannot hold (it takes 10 to 60 characters: "change-me" has 9), then
said "incorrect_login". They now stop before any request, saying what to set."""

from __future__ import annotations

import pytest
from support.policies import write_rules

from modbot.cli import main


@pytest.fixture
def env(fake_lemmy, tiny, tmp_path, monkeypatch):
    for key, value in {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "change-me",  # modbot init's .env, as written
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": str(write_rules(tmp_path, fake_lemmy, tiny)),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    "command",
    [
        ["run", "--once"],
        ["run", "--once", "--dry-run"],
        ["sweep", "--dry-run"],
        ["report", "--out", "report.html"],
    ],
)
def test_the_templates_password_is_never_sent(fake_lemmy, env, capsys, command):
    status = main(["--env-file", "/dev/null", *command])
    err = capsys.readouterr().err
    assert status == 1, err
    assert f"modbot {command[0]}: LEMMY_PASSWORD is still the template's placeholder" in err, err
    assert "set the bot account's password" in err, err
    assert [r for r in fake_lemmy.requests if r.path.endswith("/user/login")] == []
    assert fake_lemmy.requests == [], [r.path for r in fake_lemmy.requests]
