"""`modbot doctor` on Lemmy 1.0 says the bot account has private messages turned off:
Lemmy refuses every message it sends, the admins' notices included (837ea1b has `run`
turn them on; doctor said nothing of it). And the run's log says why it changed the
account's settings, messages alone included (it said "so nothing is hidden from it")."""

from __future__ import annotations

import pytest
from test_s30k_private_messages_off import _bot

from modbot.cli import main


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_doctor_warns_of_the_bot_accounts_private_messages_off(
    fake_lemmy, photos, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    bot = _bot(lemmy, photos, tiny, tmp_path)
    for key in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD", "MODBOT_STATE", "MODBOT_RULES"):
        monkeypatch.setenv(key, bot.env[key])
    monkeypatch.setenv("MODBOT_ENV_FILE", "/dev/null")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    lemmy.clear_requests()
    main(["doctor", "--timeout", "3", "--rules", bot.env["MODBOT_RULES"]])
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.split()[1:2] == ["messages"]]
    assert line.startswith("warn") and "private_messages_enabled" in line, line
    assert "couldnt_create" in line and "`modbot run` turns them on" in line
    assert lemmy.mutating_requests() == [] or all(
        r.path.endswith("/login") for r in lemmy.mutating_requests()
    )


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_the_run_says_it_turned_messages_on_so_lemmy_takes_them(fake_lemmy, photos, tiny, tmp_path):
    run = _bot(fake_lemmy, photos, tiny, tmp_path)("run", "--once")
    (said,) = [x for x in run.stderr.splitlines() if "changed the bot account's settings" in x]
    assert said.endswith(
        "changed the bot account's settings so Lemmy takes the messages it sends: "
        "private_messages_enabled"
    ), said
