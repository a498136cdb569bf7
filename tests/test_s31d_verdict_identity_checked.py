"""A worker's verdict names its concept version and model; the bot logs them (a worker
that changed them), caches each verdict under its version and records both with every
decision. They were taken as sent: a broken or hostile worker's version of half a
megabyte went into a log line and into every cached verdict, and one with a line break
forged log lines ("...\\nERROR modbot: ..."). A version longer than 64 characters, a
model name longer than 512, or either with a control character, is no verdict: the next
worker is asked, and the log says nothing of it beyond its URL's failure."""

from __future__ import annotations

import logging

import pytest
from test_h23_wrk_verdict_checked import INFO, TOKEN, URLS, verdict, workers

from classifier.remote import ClassifierUnavailable, RemoteEngine

FORGED = "v2\n2026-12-05 ERROR modbot: the admin account was banned"


@pytest.mark.parametrize(
    "changes",
    [
        {"concept_version": "0123456789abcdef" * 30_000},
        {"concept_version": FORGED},
        {"model": "m" * 600},
        {"model": "ViT-L-14/openai\r\nforged"},
    ],
    ids=["long version", "version with a line break", "long model", "model with a line break"],
)
def test_a_verdict_with_a_malformed_identity_is_no_verdict(changes, caplog):
    transport, asked = workers(
        {"w1": lambda body: verdict(body, **changes), "w2": lambda body: verdict(body)}
    )
    caplog.set_level(logging.INFO, logger="classifier.remote")
    with RemoteEngine(URLS, TOKEN, transport=transport) as engine:
        (got,) = engine.classify_many([b"an image"])
    assert got.concept_version == verdict(b"")["concept_version"] and got.model == "m"
    assert asked == {"w1": 1, "w2": 1}
    for record in caplog.records:
        message = record.getMessage()
        assert "\n" not in message and "\r" not in message and len(message) < 2000, message


def test_a_malformed_identity_is_said_without_repeating_it():
    transport, _ = workers({"w1": lambda body: verdict(body, concept_version=FORGED)})
    with (
        RemoteEngine(URLS[:1], TOKEN, transport=transport) as engine,
        pytest.raises(ClassifierUnavailable) as raised,
    ):
        engine.classify_many([b"an image"])
    said = str(raised.value)
    assert "answered 200, not a verdict" in said and "concept_version" in said, said
    assert "\n" not in said and "ERROR modbot" not in said, said


def test_info_with_a_malformed_identity_is_not_a_workers(caplog):
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**INFO, "concept_version": FORGED})

    caplog.set_level(logging.INFO, logger="classifier.remote")
    with RemoteEngine(URLS[:1], TOKEN, transport=httpx.MockTransport(handler)) as engine:
        said = engine.check()
        assert engine.concept_version is None
    assert said == {URLS[0]: "/v1/info is not what a modbot worker answers"}
    assert not any("\n" in r.getMessage() for r in caplog.records)
