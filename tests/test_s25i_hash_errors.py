"""A file that crashes the perceptual-hash code (a bug in pdqhash or Pillow on hostile
bytes, a numpy error on a degenerate image) costs that file its perceptual hash, said in
the log; the classifier's verdict still decides it, the other images of the batch are
decided, the cycle completes and the next cycle goes on to new content. Before, the error
failed the whole batch, and the page was tried again (and failed) every cycle."""

from __future__ import annotations

import hashlib
import logging

import pytest
from support.policies import PROMPT, _policy_head, _remote

import modbot.acquire
import modbot.pdq
from modbot.classify import build_engine
from modbot.cli import main
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.hashes import hashes_of
from modbot.pipeline import Pipeline

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


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def bot(fake_lemmy, tiny, photos, tmp_path):
    """A dry-run pipeline on the fake whose phash list holds a photo the probe does not
    fire on (``tiny.others[0]``)."""
    lemmy = fake_lemmy
    listed = photos[tiny.others[0]]
    (tmp_path / "phash.txt").write_text(hashes_of(listed, ["phash"])["phash"] + "\n")
    (tmp_path / "pdq.txt").write_text(hashes_of(listed, ["pdq"])["pdq"] + "\n")
    concepts = f'\nconcepts:\n  probe: {{prompts: ["{PROMPT}"], threshold: {tiny.threshold!r}}}'
    head = _policy_head(tiny.checkpoint, tmp_path, (), "", concepts)
    path = tmp_path / "rules.yaml"
    path.write_text(head + RULES.format(remote=_remote(lemmy)))
    policy = load_policy(path)
    engine = build_engine(policy)
    settings = Settings(
        lemmy.url,
        "modbot",
        Secret("pw"),
        lemmy.pictrs_url,
        Secret(lemmy.pictrs_api_key),
        tmp_path / "state.sqlite3",
    )
    pipeline = Pipeline(settings, policy, dry_run=True, engine=engine)
    try:
        yield pipeline
    finally:
        pipeline.close()
        engine.close()


def post(lemmy, name: str, data: bytes) -> int:
    cast = lemmy.cast
    upload = lemmy.add_upload(cast.bob, data)
    return lemmy.add_post(cast.pics, cast.bob, name=name, url=upload.url).id


def by_post(pipeline: Pipeline) -> dict[int, dict]:
    return {d["item"]["id"]: d for d in pipeline.store.decisions() if d["item"]["kind"] == "post"}


def test_an_error_escaping_the_perceptual_hash_skips_that_hash_not_the_batch(
    bot, fake_lemmy, tiny, photos, monkeypatch, caplog
):
    """Whatever escapes the decode for a perceptual hash (``decoded_hashes``: the cost
    estimate's header parsing, the hash itself) is that file's hash lost, not the batch."""
    crashing, listed, later = photos[tiny.flagged], photos[tiny.others[0]], photos[tiny.others[1]]
    real = modbot.acquire.decoded_hashes

    def decoded_hashes(engine, data, *args, **kwargs):
        if data == crashing:
            raise ValueError("cannot reshape array of size 0 into shape (0,newaxis)")
        return real(engine, data, *args, **kwargs)

    monkeypatch.setattr(modbot.acquire, "decoded_hashes", decoded_hashes)
    first = post(fake_lemmy, "crashes the hash", crashing)
    second = post(fake_lemmy, "on the list", listed)
    with caplog.at_level(logging.WARNING, logger="modbot.acquire"):
        bot.poll_once()  # before: ValueError out of the cycle, every cycle
    decided = by_post(bot)
    # the file is decided by the classifier's verdict, with the hashes that were taken
    crashed = decided[first]
    assert crashed["skipped"] is None
    assert crashed["image"]["sha256"] == sha(crashing)
    assert crashed["image"]["hashes"] == {"sha256": sha(crashing)}  # no phash, no pdq
    assert crashed["labels"] == ["probe"] and crashed["rule"] == "probe"
    # the other image of the batch is hashed and matched as ever
    assert decided[second]["rule"] == "look-alike"
    assert "phash" in decided[second]["image"]["hashes"]
    # the log says which file got no perceptual hash, and why
    said = [r.getMessage() for r in caplog.records if r.name == "modbot.acquire"]
    assert any(
        sha(crashing)[:12] in m and "no phash/pdq" in m and "ValueError: cannot reshape" in m
        for m in said
    ), said
    # the next cycle goes on: the new post is decided, the old ones are not again
    third = post(fake_lemmy, "later", later)
    bot.poll_once()
    decided_again = [d["item"]["id"] for d in bot.store.decisions() if d["item"]["kind"] == "post"]
    assert sorted(decided_again) == sorted([first, second, third])


def crash_pdq_on(monkeypatch, crashing: bytes) -> None:
    """pdqhash failing on one file, as a bug of its C++ on hostile bytes would."""
    real = modbot.pdq.pdq_hash

    def pdq_hash(image):
        if image == crashing:
            raise ValueError("pdqhash: buffer dimensions do not match")
        return real(image)

    monkeypatch.setattr(modbot.pdq, "pdq_hash", pdq_hash)


def test_one_kind_failing_on_a_file_costs_that_kind_only(
    bot, fake_lemmy, tiny, photos, monkeypatch, caplog
):
    """PDQ's code failing on the listed photo: its pHash is still taken and matches the
    list; the decision records the hashes taken and the log says which one is not."""
    listed = photos[tiny.others[0]]
    crash_pdq_on(monkeypatch, listed)
    on_list = post(fake_lemmy, "on the list", listed)
    with caplog.at_level(logging.WARNING, logger="modbot.hashes"):
        bot.poll_once()
    decision = by_post(bot)[on_list]
    assert decision["rule"] == "look-alike"
    assert decision["hash_match"] == {"look-alikes": "phash distance 0"}
    assert set(decision["image"]["hashes"]) == {"sha256", "phash"}
    said = [r.getMessage() for r in caplog.records if r.name == "modbot.hashes"]
    # (once for each item showing the file: the post and the upload)
    assert said and set(said) == {
        f"file {sha(listed)[:12]} gets no pdq: computing its pdq hash failed: "
        "ValueError: pdqhash: buffer dimensions do not match"
    }


def test_the_hash_command_says_which_kind_failed_and_prints_the_others(
    tmp_path, photos, monkeypatch, capsys
):
    data = photos["coffee"]
    path = tmp_path / "coffee.jpg"
    path.write_bytes(data)
    crash_pdq_on(monkeypatch, data)
    assert main(["hash", str(path)]) == 1  # before: the ValueError's traceback
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()] == ["sha256", "md5", "sha1", "phash"]
    assert err.splitlines() == [
        f"modbot hash: {path}: no pdq: computing its pdq hash failed: "
        "ValueError: pdqhash: buffer dimensions do not match"
    ]
