"""A configured kind of hash that could not be taken of a file is in its decision record
(``image.hashes_not_taken``: kind -> why) and in the reports, not only in the log: the
admin sees why no list of that kind could match the image. Before, the record showed it
only by the hash's absence from ``image.hashes``."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from support.cli import bot_environment
from support.policies import PROMPT, _policy_head, _remote

import modbot.acquire
import modbot.pdq
from modbot.cli import main
from modbot.hashes import hashes_of

RULES = """
  look-alikes: {{kind: phash, file: phash.txt}}
  look-alikes-pdq: {{kind: pdq, file: pdq.txt}}
fetch: {{allow_hosts: ["{remote}"]}}
lemmy: {{requests_per_minute: 6000, lookback: 6h, timeout: 10s}}
rules:
  - name: look-alike
    if: {{hash_list: look-alikes}}
    then: {{report: "looks like a listed image"}}
  - name: probe
    if: {{labels: [probe]}}
    then: {{report: "probe matched"}}
"""
PDQ_FAILS = "computing its pdq hash failed: ValueError: pdqhash: buffer dimensions do not match"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def setup(fake_lemmy, tiny, photos, tmp_path, monkeypatch):
    """`modbot run`'s environment on the fake, with a pHash and a PDQ list holding a
    photo the probe does not fire on (``tiny.others[0]``)."""
    listed = photos[tiny.others[0]]
    (tmp_path / "phash.txt").write_text(hashes_of(listed, ["phash"])["phash"] + "\n")
    (tmp_path / "pdq.txt").write_text(hashes_of(listed, ["pdq"])["pdq"] + "\n")
    concepts = f'\nconcepts:\n  probe: {{prompts: ["{PROMPT}"], threshold: {tiny.threshold!r}}}'
    head = _policy_head(tiny.checkpoint, tmp_path, (), "", concepts)
    rules = tmp_path / "rules.yaml"
    rules.write_text(head + RULES.format(remote=_remote(fake_lemmy)))
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, fake_lemmy, tmp_path / "state.sqlite3", rules)
    return tmp_path


def post(lemmy, name: str, data: bytes) -> int:
    cast = lemmy.cast
    upload = lemmy.add_upload(cast.bob, data)
    return lemmy.add_post(cast.pics, cast.bob, name=name, url=upload.url).id


def recorded(state) -> dict[int, dict]:
    """The decision records of posts in the state file, by post id."""
    with sqlite3.connect(state) as db:
        records = [json.loads(r) for (r,) in db.execute("SELECT record FROM decisions")]
    return {d["item"]["id"]: d for d in records if d["item"]["kind"] == "post"}


def test_the_record_and_the_json_report_say_which_kinds_were_not_taken_and_why(
    setup, fake_lemmy, tiny, photos, monkeypatch
):
    """The decode for the perceptual hashes failing on one file: its record and the
    run's JSON report name both kinds and the error; a file hashed whole has no such
    field."""
    crashing, listed = photos[tiny.flagged], photos[tiny.others[0]]
    real = modbot.acquire.decoded_hashes

    def decoded_hashes(engine, data, *args, **kwargs):
        if data == crashing:
            raise ValueError("cannot reshape array of size 0 into shape (0,newaxis)")
        return real(engine, data, *args, **kwargs)

    monkeypatch.setattr(modbot.acquire, "decoded_hashes", decoded_hashes)
    first = post(fake_lemmy, "crashes the hash", crashing)
    second = post(fake_lemmy, "on the list", listed)
    assert main(["run", "--once", "--dry-run", "--report", "run.json"]) == 0
    why = "computing it failed: ValueError: cannot reshape array of size 0 into shape (0,newaxis)"
    report = json.loads((setup / "run.json").read_text())
    reported = {d["item"]["id"]: d for d in report["decisions"] if d["item"]["kind"] == "post"}
    for decisions in (recorded(setup / "state.sqlite3"), reported):
        image = decisions[first]["image"]
        assert image["hashes"] == {"sha256": sha(crashing)}
        assert image["hashes_not_taken"] == {"phash": why, "pdq": why}
        assert decisions[first]["rule"] == "probe"  # the verdict still decides it
        assert set(decisions[second]["image"]["hashes"]) == {"sha256", "phash", "pdq"}
        assert "hashes_not_taken" not in decisions[second]["image"]


def test_the_html_report_says_the_kind_not_taken_and_why(
    setup, fake_lemmy, tiny, photos, monkeypatch
):
    """PDQ's code failing on the listed photo: its pHash matches the list, and the card
    of its decision says PDQ was not taken and why."""
    listed = photos[tiny.others[0]]
    real = modbot.pdq.pdq_hash

    def pdq_hash(image):
        if image == listed:
            raise ValueError("pdqhash: buffer dimensions do not match")
        return real(image)

    monkeypatch.setattr(modbot.pdq, "pdq_hash", pdq_hash)
    on_list = post(fake_lemmy, "on the list", listed)
    assert main(["run", "--once", "--dry-run", "--report", "run.html"]) == 0
    decision = recorded(setup / "state.sqlite3")[on_list]
    assert decision["rule"] == "look-alike"
    assert decision["image"]["hashes_not_taken"] == {"pdq": PDQ_FAILS}
    page = (setup / "run.html").read_text()
    cards = [c for c in page.split('<article class="decision">') if f"/post/{on_list}" in c]
    assert cards and all(
        f'<th>hashes not taken</th><td><span class="warn">pdq: {PDQ_FAILS}</span></td>' in c
        for c in cards
    ), cards
