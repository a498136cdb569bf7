"""`modbot init` and the env file: it reads none, so it refuses --env-file instead of
ignoring it, and says when $MODBOT_ENV_FILE will make the written .env go unread."""

from __future__ import annotations

import pytest

from modbot.cli import main


@pytest.mark.parametrize("where", ["before", "after"])
def test_init_refuses_env_file_and_writes_nothing(tmp_path, capsys, monkeypatch, where):
    monkeypatch.chdir(tmp_path)
    option = ["--env-file", str(tmp_path / "secrets.env")]
    argv = [*option, "init", "bot"] if where == "before" else ["init", "bot", *option]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "modbot init reads no settings; it writes bot/.env" in err
    assert "Leave --env-file out" in err and "Nothing was written" in err
    assert list(tmp_path.iterdir()) == []


def test_init_says_when_modbot_env_file_names_another_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MODBOT_ENV_FILE", "/etc/modbot/env")
    assert main(["init", "bot"]) == 0
    out = capsys.readouterr().out
    assert "note: MODBOT_ENV_FILE is set (/etc/modbot/env): the other commands read" in out
    monkeypatch.delenv("MODBOT_ENV_FILE")
    assert main(["init", "--force", "bot"]) == 0
    assert "note:" not in capsys.readouterr().out


@pytest.mark.parametrize("force", [False, True])
def test_write_starter_itself_never_writes_through_a_link_to_nothing(tmp_path, force):
    from modbot.errors import ConfigError
    from modbot.starter import write_starter

    target, elsewhere = tmp_path / "bot", tmp_path / "elsewhere"
    target.mkdir()
    elsewhere.mkdir()
    (target / ".env").symlink_to(elsewhere / "secrets.env")
    with pytest.raises(ConfigError, match=r"a link to .*secrets\.env, which does not exist"):
        write_starter(target, force=force)
    assert list(elsewhere.iterdir()) == []
    assert [p.name for p in target.iterdir()] == [".env"]
