"""A worker cannot grow the bot's state with a concept version per verdict.

The bot caches each verdict under the concept version it was made with, and keeps a
prompt list per version: a broken or hostile worker answering every image with a new
version had each one taken and kept. A worker's version changes when its admin changes
its model or concepts (an upgrade, several workers by turns in a rolling one): now a
remote classifier takes at most 8 new versions of each worker in its life; a verdict of
another is no verdict (the next worker is asked, or the image is looked at again
later), and the worker is named in a warning saying what to do."""

from __future__ import annotations

import itertools
import logging

import httpx
import pytest
from test_h23_wrk_verdict_checked import TOKEN, URLS, verdict

from classifier.remote import ClassifierUnavailable, RemoteEngine

MAX_VERSIONS = 8


def new_version_each_time(healthy: bool = True) -> httpx.MockTransport:
    """w1 answers every verdict with a new concept version; w2 (when healthy) with one."""
    count = itertools.count()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "w1":
            version = f"{next(count):016x}"
            return httpx.Response(200, json=verdict(request.content, concept_version=version))
        if not healthy:
            return httpx.Response(503)
        return httpx.Response(200, json=verdict(request.content))

    return httpx.MockTransport(handler)


def test_a_worker_with_a_new_version_per_verdict_is_not_followed(caplog):
    caplog.set_level(logging.WARNING, logger="classifier.remote")
    images = [b"image %d" % i for i in range(30)]
    with RemoteEngine(
        ["http://w1:8095"], TOKEN, transport=new_version_each_time(), max_backoff=0.01
    ) as engine:
        futures = [engine.submit(image) for image in images]
        got = [f.exception(timeout=20) or f.result() for f in futures]
    taken = {v.concept_version for v in got if not isinstance(v, Exception)}
    refused = [e for e in got if isinstance(e, Exception)]
    assert len(taken) <= MAX_VERSIONS, sorted(taken)
    assert refused and all(isinstance(e, ClassifierUnavailable) for e in refused), refused
    said = str(refused[0])
    assert "http://w1:8095" in said and "concept version" in said, said
    warned = [r.getMessage() for r in caplog.records if "concept version" in r.getMessage()]
    told = [line for line in warned if "restart modbot" in line]
    assert len(told) == 1, warned  # said once, not per image
    assert "http://w1:8095" in told[0]


def test_the_next_worker_classifies_what_the_unsettled_one_is_refused():
    images = [b"image %d" % i for i in range(20)]
    with RemoteEngine(URLS, TOKEN, transport=new_version_each_time()) as engine:
        got = [engine.classify_many([image])[0] for image in images]
    versions = [v.concept_version for v in got]
    assert len(set(versions)) <= MAX_VERSIONS + 1  # w1's, and w2's one
    # once w1 is out of versions, every verdict is w2's, of the version w2 serves
    assert versions[-5:] == ["0123456789abcdef"] * 5


@pytest.mark.parametrize("upgrades", [1, MAX_VERSIONS - 1])
def test_a_worker_upgraded_keeps_being_followed(upgrades):
    """What a worker's admin does (upgrade it, a few times) is followed as before."""
    versions = [f"{n:016x}" for n in range(upgrades + 1) for _ in range(3)]
    turns = iter(versions)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=verdict(request.content, concept_version=next(turns)))

    with RemoteEngine(["http://w1:8095"], TOKEN, transport=httpx.MockTransport(handler)) as engine:
        got = [engine.classify_many([b"image %d" % i])[0] for i in range(len(versions))]
        assert engine.concept_version == versions[-1]
    assert [v.concept_version for v in got] == versions
