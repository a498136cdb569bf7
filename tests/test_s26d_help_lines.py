"""Every command's `--help` is the manual: it reads in a terminal, no line over 100
characters (the project's line length) where argparse wraps at 80 columns.

Before: `modbot report --help` printed a description line of 101 characters (the JSON
shape of the report), hand-wrapped text argparse does not wrap again."""

from __future__ import annotations

import argparse

import pytest

from modbot.cli import build_parser, main


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every command line with a help of its own: `modbot`, each command, each
    subcommand (`feed publish`)."""
    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


def test_every_help_fits_in_100_columns(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")  # a pipe's width, as `modbot x --help | less`
    every = list(commands(build_parser()))
    assert {("report",), ("feed", "verify"), ("undo",)} <= set(every), every
    long = {}
    for command in every:
        with pytest.raises(SystemExit) as done:
            main([*command, "--help"])
        assert done.value.code == 0, command
        out = capsys.readouterr().out
        assert out.startswith("usage: modbot"), (command, out[:200])
        over = [line for line in out.splitlines() if len(line) > 100]
        if over:
            long[" ".join(command)] = over
    assert long == {}, long
