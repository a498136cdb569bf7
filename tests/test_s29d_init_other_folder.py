"""What `modbot init` tells to do for the commands after it, done as told.

Before: refusing --env-file, init said to give the later commands `--env-file DIR/.env`
"when they run from another folder" (`modbot --env-file bot/.env check-rules`), and its
--help said the same. Done as told, check-rules failed ("rules.yaml:1: no such file"),
and `modbot run` would have kept a new, empty state file in that other folder (the .env
names ./rules.yaml and ./modbot.sqlite3, relative to the folder a command runs in): its
cursors and the record of actions done, which make each action happen once, not found.
Now it says to run them from DIR, and why."""

from __future__ import annotations

import re
import shlex

import pytest

from modbot.cli import main


def test_the_command_init_suggests_for_later_works_as_told(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["--env-file", "bot/.env", "init", "bot"]) == 1
    err = capsys.readouterr().err
    assert main(["init", "bot"]) == 0
    capsys.readouterr()
    (told,) = re.findall(r"`([^`]*check-rules[^`]*)`", err)
    where, _, command = told.rpartition(" && ")
    if where:
        assert where.startswith("cd ")
        monkeypatch.chdir(tmp_path / shlex.split(where)[1])
    words = shlex.split(command)
    assert words[0] == "modbot"
    status = main(words[1:])
    out = capsys.readouterr()
    assert status == 0, f"`{told}` (from {tmp_path}): {out.out}{out.err}"
    assert "rules.yaml: valid" in out.out
    assert not (tmp_path / "modbot.sqlite3").exists()


def test_the_help_says_where_the_later_commands_run(capsys):
    with pytest.raises(SystemExit):
        main(["init", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert "give them `--env-file DIR/.env` when they run from another folder" not in said
    assert "relative to the folder a command runs in" in said, said
