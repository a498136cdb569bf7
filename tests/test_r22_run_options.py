"""`modbot run`'s options that only mean something with --once are refused without it,
not silently ignored by the daemon."""

from __future__ import annotations

from modbot.cli import main


def test_every_without_once_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # nothing to read: the command line alone is wrong
    assert main(["--env-file", "/dev/null", "run", "--every", "10m"]) == 2
    err = capsys.readouterr().err
    assert "--every" in err and "schedule.poll_every" in err and "--once" in err
