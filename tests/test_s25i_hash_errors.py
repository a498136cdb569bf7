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
from modbot.classify import build_engine
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.hashes import hashes_of
from modbot.pipeline import Pipeline

RULES = """
  look-alikes: {{kind: phash, file: phash.txt}}
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
    assert crashed["image"]["hashes"] == {"sha256": sha(crashing)}  # no phash
    assert crashed["labels"] == ["probe"] and crashed["rule"] == "probe"
    # the other image of the batch is hashed and matched as ever
    assert decided[second]["rule"] == "look-alike"
    assert "phash" in decided[second]["image"]["hashes"]
    # the log says which file got no perceptual hash, and why
    said = [r.getMessage() for r in caplog.records if r.name == "modbot.acquire"]
    assert any(
        sha(crashing)[:12] in m and "no phash" in m and "ValueError: cannot reshape" in m
        for m in said
    ), said
    # the next cycle goes on: the new post is decided, the old ones are not again
    third = post(fake_lemmy, "later", later)
    bot.poll_once()
    decided_again = [d["item"]["id"] for d in bot.store.decisions() if d["item"]["kind"] == "post"]
    assert sorted(decided_again) == sorted([first, second, third])
