"""Several workers behind one address (a load balancer) in the middle of a rolling
upgrade answer with two concept versions by turns. The bot logged a warning ("now
serves concept version ...") for every image, each one a line; and nothing said why:
that the workers behind the address differ, so their verdicts are mixed. Now each
version a worker serves is said once, and the versions by turns once every 5 minutes,
naming them."""

from __future__ import annotations

import itertools
import logging

import httpx
import pytest
from test_h23_wrk_verdict_checked import TOKEN, verdict

from classifier.remote import RemoteEngine

OLD, NEW = "0123456789abcdef", "fedcba9876543210"


def pool(versions) -> httpx.MockTransport:
    turns = itertools.cycle(versions)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=verdict(request.content, concept_version=next(turns)))

    return httpx.MockTransport(handler)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "classifier.remote" and r.levelno >= logging.WARNING
    ]


def test_two_versions_by_turns_behind_one_address_are_said_once_not_per_image(caplog):
    caplog.set_level(logging.WARNING)
    with RemoteEngine(["http://lb:8095"], TOKEN, transport=pool([OLD, NEW])) as engine:
        verdicts = engine.classify_many([b"image %d" % i for i in range(20)])
    assert {v.concept_version for v in verdicts} == {OLD, NEW}
    said = warnings(caplog)
    assert len(said) <= 3, said
    by_turns = [line for line in said if "by turns" in line]
    assert len(by_turns) == 1, said
    assert OLD in by_turns[0] and NEW in by_turns[0]
    assert "http://lb:8095" in by_turns[0] and "verdicts differ" in by_turns[0]


def test_a_worker_upgraded_once_is_still_said_once(caplog):
    caplog.set_level(logging.WARNING)
    versions = [OLD] * 3 + [NEW] * 3
    with RemoteEngine(["http://w:8095"], TOKEN, transport=pool(versions)) as engine:
        for i in range(6):
            engine.classify_many([b"image %d" % i])
        assert engine.concept_version == NEW, "the cache key moves with its worker"
    said = warnings(caplog)
    assert len(said) == 1 and f"now serves concept version {NEW}" in said[0], said
