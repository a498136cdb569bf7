"""`modbot sweep --store` stopped as it starts says how far the walk is, not "None".

Before: a store sweep stopped (SIGTERM, Ctrl-C) while it read the admins or Lemmy's
media list, before its walk counted the store, ended "interrupted ...: 0 of None stored
files walked", a resumed walk too, whose position said 1 of 3 files done. Now it says
the walk's own figures: those of the position it resumes, or that the store was not
counted yet."""

from __future__ import annotations

import os
import signal

from test_s29b_store_sweep_warnings_resumed import _on_the_second_page
from test_w23_store_sweep_ends import SWEEP, _setup

import modbot.modes.store_sweep
from modbot.cli import main
from modbot.lemmy.pictrs import PictrsStore


def _sigterm() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


def test_a_store_sweep_stopped_as_it_starts_says_how_far_the_walk_is(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    _setup(fake_lemmy, tiny, tmp_path, monkeypatch)
    read_admins = modbot.modes.store_sweep.read_admins

    def then_sigterm(*args, **kwargs):  # the operator stops it while it reads the admins
        admins = read_admins(*args, **kwargs)
        _sigterm()
        return admins

    # a walk from its start: nothing counted yet
    monkeypatch.setattr(modbot.modes.store_sweep, "read_admins", then_sigterm)
    assert main([*SWEEP, "--dry-run"]) == 130
    out = capsys.readouterr().out
    assert (
        "interrupted (run it again to resume): 0 stored files walked (the store not "
        "counted yet); 0 items" in out
    ), out

    # stopped after its first page (of 3)
    monkeypatch.setattr(modbot.modes.store_sweep, "read_admins", read_admins)
    stored_files = PictrsStore.stored_files
    _on_the_second_page(monkeypatch, _sigterm)
    assert main([*SWEEP, "--dry-run"]) == 130
    out = capsys.readouterr().out
    assert "interrupted (run it again to resume): 1 of 3 stored files walked" in out, out

    # resumed, and stopped again as it starts: where the walk is, not "0 of None"
    monkeypatch.setattr(PictrsStore, "stored_files", stored_files)
    monkeypatch.setattr(modbot.modes.store_sweep, "read_admins", then_sigterm)
    assert main([*SWEEP, "--dry-run"]) == 130
    out = capsys.readouterr().out
    assert "interrupted (run it again to resume): 1 of 3 stored files walked; 0 items" in out, out

    monkeypatch.setattr(modbot.modes.store_sweep, "read_admins", read_admins)
    assert main([*SWEEP, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "done: 3 of 3 stored files walked; 2 items" in out, out
