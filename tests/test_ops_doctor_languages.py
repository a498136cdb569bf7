"""`modbot doctor`'s account check sees what `modbot run` fixes: discussion languages
that hide posts from the bot account, not only the show_* settings."""

from __future__ import annotations

from support.policies import write_rules

from modbot.cli import main


def test_an_account_limited_to_some_languages_is_a_warning(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    fake_lemmy.add_person(
        "polyglot",
        admin=True,
        password="polyglot-pw",
        show_nsfw=True,
        show_bot_accounts=True,
        show_read_posts=True,
        discussion_languages=[37],
    )
    values = {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "polyglot",
        "LEMMY_PASSWORD": "polyglot-pw",
        "PICTRS_URL": fake_lemmy.pictrs_url,
        "PICTRS_API_KEY": fake_lemmy.pictrs_api_key,
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": str(write_rules(tmp_path, fake_lemmy, tiny)),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    main(["doctor", "--timeout", "3"])
    out = capsys.readouterr().out
    (account,) = [line for line in out.splitlines() if line.split()[1:2] == ["account"]]
    assert account.startswith("warn") and "discussion_languages" in account, out
