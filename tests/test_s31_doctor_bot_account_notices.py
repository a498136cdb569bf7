"""Lemmy 1.0 leaves a bot account's private messages out of the notification list (the
inbox) and its unread count for every reader whose settings hide bot accounts
(fakelemmy, fca128e, after Lemmy's notification/src/impls.rs): an admin who hides bots
never sees modbot's notices, though they are sent and stored. modbot cannot read the
admins' settings; `modbot doctor` says so when the bot's account is marked a bot
account, on 1.0 only (0.19's private message list has no such filter)."""

from __future__ import annotations

import pytest
from support.bot import Bot
from support.policies import write_rules

from modbot.cli import main


def _doctor(lemmy, tiny, tmp_path, monkeypatch, capsys, *, username: str) -> list[str]:
    bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny), username=username)
    for key in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE", "MODBOT_RULES"):
        monkeypatch.setenv(key, bot.env[key])
    monkeypatch.setenv("MODBOT_ENV_FILE", "/dev/null")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    main(["doctor", "--timeout", "3", "--rules", bot.env["MODBOT_RULES"]])
    out = capsys.readouterr().out
    return [x for x in out.splitlines() if x.split()[1:2] == ["notices"]]


@pytest.mark.parametrize(
    ("fake_lemmy", "warned"), [("1.0", True), ("0.19", False)], indirect=["fake_lemmy"]
)
def test_doctor_says_admins_who_hide_bots_do_not_see_a_bot_accounts_notices(
    fake_lemmy, warned, tiny, tmp_path, monkeypatch, capsys
):
    # the standard cast's modbot is an admin marked a bot account
    lines = _doctor(fake_lemmy, tiny, tmp_path, monkeypatch, capsys, username="modbot")
    if not warned:
        assert lines == []
        return
    (line,) = lines
    assert line.startswith("warn") and "Show bot accounts" in line, line
    assert "never sees modbot's notices" in line


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_an_account_not_marked_a_bot_is_not_warned_of(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    fake_lemmy.add_person("automod", admin=True, bot_account=False, password="pw")
    assert _doctor(fake_lemmy, tiny, tmp_path, monkeypatch, capsys, username="automod") == []
