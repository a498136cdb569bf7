"""`modbot sweep`'s --store knobs: refused without --store (a walk through Lemmy's
listings has no such pace or page), and refused when they are no number it can use."""

from __future__ import annotations

import pytest

from modbot.cli import main
from modbot.cli.sweep import FILES_PER_SECOND, PAGE_SIZE
from modbot.store_source import DEFAULT_FILES_PER_SECOND, DEFAULT_PAGE


@pytest.mark.parametrize(
    "args",
    [["--files-per-second", "5"], ["--page-size", "10"], ["--since", "1d", "--page-size", "3"]],
)
def test_store_knobs_without_store_are_a_usage_error(tmp_path, monkeypatch, capsys, args):
    monkeypatch.chdir(tmp_path)  # nothing to read: the command line alone is wrong
    assert main(["--env-file", "/dev/null", "sweep", *args]) == 2
    err = capsys.readouterr().err
    assert "add --store" in err, err


@pytest.mark.parametrize(
    "args", [["--files-per-second", "nan"], ["--files-per-second", "-1"], ["--page-size", "0"]]
)
def test_store_knobs_that_are_no_usable_number_are_refused(tmp_path, monkeypatch, capsys, args):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["--env-file", "/dev/null", "sweep", "--store", *args])
    assert exited.value.code == 2
    assert "or more" in capsys.readouterr().err


def test_the_help_says_the_store_walks_own_defaults():
    assert (FILES_PER_SECOND, PAGE_SIZE) == (DEFAULT_FILES_PER_SECOND, DEFAULT_PAGE)
