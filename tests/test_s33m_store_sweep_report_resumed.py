"""The report of a `modbot sweep --store` that resumes an interrupted walk holds the
whole walk. Before: run again after a stop with the same `--report`, it wrote the file
anew with its own part only, marked complete: the files its first part decided (and any
action planned on them) were in no report, as the backlog sweep's were before 654d14a."""

from __future__ import annotations

import io
import json
import os
import signal

import pytest
from PIL import Image
from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main
from modbot.lemmy.pictrs import PictrsStore


def _jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24 + seed, 24), (seed * 11 % 256, 80, 20)).save(out, "JPEG")
    return out.getvalue()


def _files(path) -> set[str]:
    return {d["item"]["id"] for d in json.loads(path.read_text())["decisions"]}


@pytest.mark.slow
def test_a_resumed_store_sweep_reports_the_whole_walk(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    uploads = [fake_lemmy.add_upload(fake_lemmy.cast.alice, _jpeg(i)) for i in range(3)]
    rules = write_rules(tmp_path, fake_lemmy, tiny)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, fake_lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)
    sweep = ["sweep", "--store", "--dry-run", "--page-size", "1", "--report", "store.json"]
    listed = PictrsStore.stored_files
    calls: list[object] = []

    def then_sigterm(client, slug, **kwargs):  # the operator stops it after a page
        if slug is not None and not calls:  # the walk's second page (the first: None)
            calls.append(slug)
            os.kill(os.getpid(), signal.SIGTERM)
        return listed(client, slug, **kwargs)

    monkeypatch.setattr(PictrsStore, "stored_files", then_sigterm)
    assert main(sweep) == 130
    first = json.loads((tmp_path / "store.json").read_text())
    assert first["summary"]["complete"] is False
    before = _files(tmp_path / "store.json")
    assert 0 < len(before) < len(uploads), before
    monkeypatch.setattr(PictrsStore, "stored_files", listed)
    capsys.readouterr()

    assert main(sweep) == 0
    whole = json.loads((tmp_path / "store.json").read_text())
    assert whole["summary"]["complete"] is True
    assert before <= _files(tmp_path / "store.json"), "the first part's files"
    assert len(_files(tmp_path / "store.json")) == len(uploads)
    assert len(whole["summary"]["walk_runs"]) == 2
    assert fake_lemmy.mutating_requests() == []
