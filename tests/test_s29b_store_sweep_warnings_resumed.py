"""`modbot sweep --store` resumed after a stop, a failure or kill -9 says the whole
walk's warnings.

Before: what the store walk warned of (Lemmy's media list could not be read, so a ban
of a file walked then fell back to whoever posted it) lived in the run's memory only.
The run that resumed the walk read the media list again, fine this time, and ended
with a clean summary and `--report`: the admin never learned that the files of the
first part were decided without their uploaders. Now the walk keeps its warnings beside
its position, says them again once each in the run that ends it, and forgets them with
the position."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal

from PIL import Image
from support.cli import bot_environment
from support.policies import write_rules

from modbot.cli import main
from modbot.lemmy.pictrs import PictrsStore

MEDIA = "/api/v3/admin/list_all_media"
SAID = "store sweep: Lemmy's media list could not be read"
RULES = """
  - name: known abusive file
    if: {type: file, hash_list: known-bad}
    then: {purge_image: true}
"""
SWEEP = ["sweep", "--store", "--page-size", "1", "--files-per-second", "0", "--dry-run"]


def _jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24 + seed, 24), (seed * 11 % 256, 80, 20)).save(out, "JPEG")
    return out.getvalue()


def _bot(lemmy, tiny, tmp_path, monkeypatch) -> None:
    files = [_jpeg(i) for i in range(3)]
    for data in files:
        lemmy.add_upload(lemmy.cast.alice, data)
    bad = hashlib.sha256(files[0]).hexdigest()
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[bad], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules, pictrs=True)


def _warned(out: str, said: str = SAID) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("warning: ") and said in line]


def _on_the_second_page(monkeypatch, then) -> None:
    """``then()`` as pict-rs is asked for the walk's second page (after the counting pass
    and the first page), in the first run only."""
    stored_files = PictrsStore.stored_files
    calls = []

    def listing(self, *args, **kwargs):
        calls.append(args)
        self.backoff = 0.01  # pict-rs' 5xx retried at once
        if len(calls) == 3:
            then()
        return stored_files(self, *args, **kwargs)

    monkeypatch.setattr(PictrsStore, "stored_files", listing)


def _resumed_says_it_once_then_forgets(lemmy, tmp_path, capsys) -> None:
    # resumed: the media list reads fine now, yet the walk's first files were decided
    # without it: the run that ends the walk says so, on the terminal and in its report
    assert main([*SWEEP, "--report", "rest.json"]) == 0
    out = capsys.readouterr().out
    assert "done: 3 of 3 stored files walked" in out, out
    assert len(_warned(out)) == 1, out
    warnings = json.loads((tmp_path / "rest.json").read_text())["summary"]["warnings"]
    assert len([w for w in warnings if SAID in w]) == 1, warnings

    # forgotten with the position: the next walk, from its start, warns of nothing
    assert main([*SWEEP, "--report", "next.json"]) == 0
    out = capsys.readouterr().out
    assert "done: 3 of 3 stored files walked" in out, out
    assert _warned(out) == [], out
    warnings = json.loads((tmp_path / "next.json").read_text())["summary"]["warnings"]
    assert [w for w in warnings if SAID in w] == [], warnings
    assert lemmy.mutating_requests() == []


def test_a_store_sweep_stopped_after_a_warning_says_it_when_resumed(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    _bot(lemmy, tiny, tmp_path, monkeypatch)
    lemmy.fail_next(MEDIA, status=400, error="not_an_admin")
    _on_the_second_page(monkeypatch, lambda: os.kill(os.getpid(), signal.SIGTERM))
    assert main(SWEEP) == 130
    out = capsys.readouterr().out
    assert "interrupted (run it again to resume)" in out, out
    assert len(_warned(out)) == 1, out
    _resumed_says_it_once_then_forgets(lemmy, tmp_path, capsys)


def test_a_store_sweep_failed_after_a_warning_says_it_then_and_when_resumed(
    fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    lemmy = fake_lemmy
    _bot(lemmy, tiny, tmp_path, monkeypatch)
    lemmy.fail_next(MEDIA, status=400, error="not_an_admin")
    # pict-rs answers 500 to the second page, and to each of the 5 retries
    _on_the_second_page(
        monkeypatch,
        lambda: lemmy.fail_next("/internal/hashes", times=6, status=500, server="pictrs"),
    )
    assert main([*SWEEP, "--report", "part.json"]) == 1
    out, err = capsys.readouterr()
    assert "500" in err, err
    assert "failed; done and recorded before: 1 items" in out, out
    assert "report (incomplete): part.json" in out, out
    # the failed run says its warnings on the terminal too, as its report does
    assert len(_warned(out)) == 1, out
    warnings = json.loads((tmp_path / "part.json").read_text())["summary"]["warnings"]
    assert len([w for w in warnings if SAID in w]) == 1, warnings
    _resumed_says_it_once_then_forgets(lemmy, tmp_path, capsys)
