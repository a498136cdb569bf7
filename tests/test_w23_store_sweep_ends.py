"""`modbot sweep --store` ends as `modbot sweep` does: one stopped before its first page
has walked nothing and says "interrupted" (exit 130), not "done"; one that fails part-way
says what it did first and writes its --report marked incomplete; one that walked it all
writes a report marked complete."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal

from PIL import Image
from support.cli import bot_environment
from support.policies import write_rules

import modbot.modes.store_sweep
from modbot.cli import main
from modbot.lemmy.pictrs import PictrsStore

RULES = """
  - name: known abusive file
    if: {type: file, hash_list: known-bad}
    then: {purge_image: true}
"""


def jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24 + seed, 24), (seed * 11 % 256, 80, 20)).save(out, "JPEG")
    return out.getvalue()


def _setup(lemmy, tiny, tmp_path, monkeypatch):
    files = [jpeg(i) for i in range(3)]
    for data in files:
        lemmy.add_upload(lemmy.cast.alice, data)
    bad = hashlib.sha256(files[-1]).hexdigest()  # the newest: the first page walked
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[bad], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)


SWEEP = ["sweep", "--store", "--page-size", "1", "--files-per-second", "0"]


def test_a_store_sweep_stopped_while_it_starts_is_interrupted_not_done(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    _setup(fake_lemmy, tiny, tmp_path, monkeypatch)
    read_admins = modbot.modes.store_sweep.read_admins

    def then_sigterm(*args, **kwargs):  # the operator stops it while it reads the admins
        admins = read_admins(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        return admins

    monkeypatch.setattr(modbot.modes.store_sweep, "read_admins", then_sigterm)
    assert main([*SWEEP, "--dry-run", "--report", "r.json"]) == 130
    out = capsys.readouterr().out
    assert "store sweep" in out and "interrupted (run it again to resume)" in out, out
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["complete"] is False
    # run again, not stopped, it walks it all: done, a complete report
    monkeypatch.setattr(modbot.modes.store_sweep, "read_admins", read_admins)
    assert main([*SWEEP, "--dry-run", "--report", "r.json"]) == 0
    out = capsys.readouterr().out
    assert "done: 3 of 3 stored files walked" in out, out
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["complete"] is True


def test_a_store_sweep_failing_part_way_says_what_it_did_and_reports_it(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    _setup(lemmy, tiny, tmp_path, monkeypatch)
    stored_files = PictrsStore.stored_files
    calls = []

    def failing_after_a_page(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 3:  # the count, the first page: then pict-rs fails for good
            lemmy.fail_next("/internal/hashes", times=50, status=401, server="pictrs")
        return stored_files(self, *args, **kwargs)

    monkeypatch.setattr(PictrsStore, "stored_files", failing_after_a_page)
    assert main([*SWEEP, "--report", "r.json"]) == 1
    out, err = capsys.readouterr()
    assert "pict-rs" in err and "401" in err, err
    assert "failed; done and recorded before: 1 items" in out, out
    assert "purge_image:done 1" in out and "(run it again to resume)" in out, out
    assert "report (incomplete): r.json" in out
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["summary"]["complete"] is False and len(written["decisions"]) == 1
