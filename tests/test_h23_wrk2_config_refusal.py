"""A worker that refuses what every request of this bot carries, not the image (restarted
with tighter concept-set limits, so it refuses the custom concepts sent in
X-Modbot-Concepts; a named concept set it no longer serves; a proxy before it that refuses
the concepts header as too large) is a configuration to fix, not a fault of the image:
the image is `classifier_unavailable` (no rule acts, the item is looked at again once the
worker takes it), and the log says what to fix, once a while per worker, not once per
image. A refusal about the image itself (413, a 400 about the image) stays
`classifier_error` for that image. It used to be `classifier_error` for every image:
marked seen (never classified once the worker is fixed) and acted on by `skipped:
classifier_error` rules."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
from support.policies import _policy_head, _remote
from test_h23_wrk_verdict_checked import INFO, RULES, TOKEN, URLS, verdict

import classifier.service as service
from classifier.concepts import ConceptError, CustomConcept
from classifier.remote import ClassifierUnavailable, RemoteEngine, RemoteRequestRefused
from classifier.service import CONCEPTS_HEADER, parse_concepts
from fakelemmy import hostile
from modbot.classify import _custom_concepts
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.pipeline import Pipeline

GORE = CustomConcept("gore", ("gore", "a bloody wound"), 0.2)


def tighter_limits(monkeypatch) -> None:
    """The worker restarted with tighter limits: one prompt in all."""
    monkeypatch.setattr(service, "MAX_PROMPTS", 1)


def refusing_concepts(request: httpx.Request) -> httpx.Response:
    """What a modbot worker answers for concepts over its limits: its own message."""
    try:
        parse_concepts(json.loads(request.headers[CONCEPTS_HEADER]))
    except ConceptError as exc:
        return httpx.Response(400, json={"error": str(exc)})
    return httpx.Response(200, json=verdict(request.content))


def unknown_set(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        400, json={"error": "unknown concept set 'gore'; this worker serves: none"}
    )


def header_too_large(request: httpx.Request) -> httpx.Response:
    page = b"<html><head><title>400 Request Header Or Cookie Too Large</title></head></html>"
    return httpx.Response(400, content=page, headers={"Content-Type": "text/html"})


def counting(answer):
    asked: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        asked[request.url.host] = asked.get(request.url.host, 0) + 1
        if request.url.path == "/v1/info":
            return httpx.Response(200, json=INFO)
        return answer(request)

    return httpx.MockTransport(handler), asked


@pytest.mark.parametrize(
    ("answer", "options", "hint"),
    [
        (refusing_concepts, {"custom": [GORE]}, "concepts:"),
        (unknown_set, {"concept_set": "gore"}, "concept set"),
        (header_too_large, {"custom": [GORE]}, "header"),
    ],
)
def test_a_refusal_of_the_configuration_is_unavailable_and_said_once(
    answer, options, hint, monkeypatch, caplog
):
    tighter_limits(monkeypatch)
    mock, asked = counting(answer)
    caplog.set_level(logging.WARNING, logger="classifier.remote")
    with RemoteEngine(URLS, TOKEN, transport=mock, max_backoff=0.1, **options) as engine:
        for image in (b"one", b"two", b"three"):
            with pytest.raises(ClassifierUnavailable) as caught:
                engine.classify_many([image])
            assert not isinstance(caught.value, RemoteRequestRefused)
        assert asked == {"w1": 3, "w2": 3}, "each worker asked once an image"
    said = [r.getMessage() for r in caplog.records if r.name == "classifier.remote"]
    for url in URLS:
        mine = [m for m in said if url in m]
        assert len(mine) == 1, f"said once for {url}, not once an image: {mine}"
        assert hint in mine[0] and "classifier_unavailable" in mine[0]
    assert TOKEN not in caplog.text


def test_the_concept_version_asked_mid_run_is_unavailable_when_refused(monkeypatch):
    """No worker answered at start; the first one that does refuses the concepts."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": f"{CONCEPTS_HEADER}: more than 1 prompts"})

    engine = RemoteEngine(URLS, TOKEN, custom=[GORE], transport=httpx.MockTransport(handler))
    with engine, pytest.raises(ClassifierUnavailable, match="more than 1 prompts"):
        asyncio.run(engine.ready())


def image_refused(request: httpx.Request) -> httpx.Response:
    return httpx.Response(400, json={"error": "the image is not one this worker takes"})


def too_large(request: httpx.Request) -> httpx.Response:
    return httpx.Response(413, json={"error": "the image is larger than this worker's limit"})


@pytest.mark.parametrize("answer", [image_refused, too_large])
def test_a_refusal_of_the_image_is_still_refused(answer):
    mock, asked = counting(answer)
    with (
        RemoteEngine(URLS, TOKEN, custom=[GORE], transport=mock) as engine,
        pytest.raises(RemoteRequestRefused),
    ):
        engine.classify_many([b"img"])
    assert asked == {"w1": 1, "w2": 1}


def test_one_worker_refusing_the_concepts_another_refusing_the_image_is_unavailable(
    monkeypatch,
):
    """The one that refuses the concepts may take the image once it is fixed."""
    tighter_limits(monkeypatch)
    answers = {"w1": refusing_concepts, "w2": too_large}
    mock, _ = counting(lambda request: answers[request.url.host](request))
    with (
        RemoteEngine(URLS, TOKEN, custom=[GORE], transport=mock) as engine,
        pytest.raises(ClassifierUnavailable),
    ):
        engine.classify_many([b"img"])


CONCEPTS = """
concepts:
  gore: {prompts: ["gore", "a bloody wound"], threshold: 0.2}"""

NOT_CHECKED = """  - name: not checked
    if: {skipped: classifier_error}
    then: {report: "the classifier failed on this image"}
"""


def csam(request: httpx.Request) -> httpx.Response:
    scores = {"subject": 0.1, "underage": 0.2, "nsfw": 0.3, "anime": -0.3, "csam": 0.2}
    return httpx.Response(
        200,
        json=verdict(
            request.content, labels=["csam", "nsfw", "underage"], scores={**scores, "gore": -0.1}
        ),
    )


def test_the_bot_looks_again_once_the_restarted_worker_takes_the_concepts(
    fake_lemmy, tiny, tmp_path, monkeypatch, caplog
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    path = tmp_path / "rules.yaml"
    path.write_text(
        _policy_head(tiny.checkpoint, tmp_path, (), concepts=CONCEPTS)
        + RULES.format(remote=_remote(lemmy))
        + NOT_CHECKED
    )
    policy = load_policy(path)
    upload = lemmy.add_upload(cast.bob, hostile.jpeg(color=(200, 30, 30)))
    post = lemmy.add_post(cast.pics, cast.bob, name="a photo", url=upload.url)
    worker = {"limits": "tighter"}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/info":
            return httpx.Response(200, json=INFO)
        if worker["limits"] == "tighter":
            return refusing_concepts(request)
        return csam(request)

    engine = RemoteEngine(
        URLS,
        TOKEN,
        custom=_custom_concepts(policy),
        transport=httpx.MockTransport(handler),
        max_backoff=0.1,
    )
    engine.check()  # at start the worker took them; then it was restarted
    tighter_limits(monkeypatch)
    settings = Settings(
        lemmy.url,
        "modbot",
        Secret("pw"),
        lemmy.pictrs_url,
        Secret(lemmy.pictrs_api_key),
        tmp_path / "state.sqlite3",
    )
    pipeline = Pipeline(settings, policy, dry_run=False, engine=engine)
    try:
        pipeline.poll_once()
        first = [d for d in pipeline.store.decisions() if d["item"]["id"] == post.id]
        assert [(d["skipped"], d["rule"]) for d in first] == [("classifier_unavailable", None)]
        assert "refuses the concepts" in first[0]["skipped_detail"], "the audit says why"
        assert "more than 1 prompts" in first[0]["skipped_detail"]
        assert lemmy.reports == [], "no rule ran on an image nobody classified"
        assert not lemmy.post(post.id).removed
        assert "refuses the concepts" in caplog.text and "concepts:" in caplog.text
        worker["limits"] = "fixed"  # the worker's admin raised them again
        monkeypatch.undo()
        pipeline.poll_once()
        later = [d for d in pipeline.store.decisions() if d["item"]["id"] == post.id]
    finally:
        pipeline.close()
        engine.close()
    assert [d["rule"] for d in later if d["rule"]] == ["csam"], "looked at again, and acted on"
    assert lemmy.post(post.id).removed
    assert lemmy.reports == []
