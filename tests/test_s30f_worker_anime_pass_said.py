"""A bot on `classifier.remote` whose worker runs without DeepDanbooru (its
`--deepdanbooru off`, or `auto` finding no weights, the default outside the Docker
image) was told nothing: only the worker's own log said the anime second pass was off,
while the bot's rules on `danbooru_*` scores silently never matched. A bot with its own
model says so at start; on workers it now says it too, naming the worker, from what
`/v1/info` now says (`deepdanbooru`)."""

from __future__ import annotations

import logging
from functools import partial

import httpx
from support.worker import TOKEN

from classifier.remote import RemoteEngine

RemoteEngine = partial(RemoteEngine, allow_random_weights=True)  # the tiny test model


def test_info_says_whether_the_anime_pass_runs(worker):
    info = httpx.get(f"{worker.url}/v1/info", headers={"Authorization": f"Bearer {TOKEN}"})
    assert info.status_code == 200
    assert info.json()["deepdanbooru"] is False  # the test worker has no weights


def test_the_bot_says_at_start_that_a_worker_runs_without_the_anime_pass(worker, caplog):
    caplog.set_level(logging.INFO)
    with RemoteEngine([worker.url], TOKEN) as engine:
        said = engine.check()
    assert "DeepDanbooru off" in said[worker.url]
    assert " concept version " in said[worker.url]  # (what modbot doctor looks for)
    lines = [r.getMessage() for r in caplog.records if r.name == "classifier.remote"]
    off = [line for line in lines if "anime second pass" in line]
    assert len(off) == 1, lines
    assert worker.url in off[0] and "danbooru_" in off[0] and "--deepdanbooru" in off[0]
