"""A worker's verdict is checked against the request before the bot uses it: it is on
the image sent (its SHA-256), it scores every concept asked (the built-in ones and the
custom ones sent), its labels agree with its scores, and its scores are margins. A
verdict that is not (a mix-up in a worker or a proxy's cache, a worker that ignored the
concepts sent, another scale) is no verdict: the next worker is asked, and no rule acts
on it."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from support.policies import _policy_head, _remote

from classifier.concepts import CustomConcept
from classifier.remote import RemoteEngine, RemoteError
from fakelemmy import hostile
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.pipeline import Pipeline

TOKEN = "bot-token-0123456789abcdefgh"
URLS = ["http://w1:8095", "http://w2:8095"]
INFO = {"model": "m", "random_weights": False, "concept_version": "0123456789abcdef"}


def verdict(data: bytes, **changes) -> dict:
    """A well-formed verdict on ``data``: nothing fired."""
    made = {
        "labels": [],
        "scores": {"subject": 0.05, "underage": -0.2, "nsfw": -0.1, "anime": -0.3, "csam": -0.2},
        "prompt_scores": {"a photo": 0.21},
        "matched": {},
        "model": "m",
        "random_weights": False,
        "concept_version": "0123456789abcdef",
        "regions": 1,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    made.update(changes)
    return made


def workers(answers: dict):
    """A transport where host ``h`` answers a classify request with ``answers[h](body)``
    (a verdict's JSON), and the requests each got."""
    asked: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/info":
            return httpx.Response(200, json=INFO)
        asked[request.url.host] = asked.get(request.url.host, 0) + 1
        return httpx.Response(200, json=answers[request.url.host](request.content))

    return httpx.MockTransport(handler), asked


def good(body: bytes) -> dict:
    return verdict(body)


BAD_ANSWERS = {
    # a verdict on another image: csam, which a rule would act on
    "another image": lambda body: verdict(
        b"someone else's image",
        labels=["csam", "nsfw", "underage"],
        scores={"subject": 0.1, "underage": 0.2, "nsfw": 0.3, "anime": -0.3, "csam": 0.2},
    ),
    "no image named": lambda body: {**verdict(body), "sha256": ""},
    "a concept missing": lambda body: verdict(
        body, scores={"subject": 0.1, "underage": -0.2, "nsfw": -0.1, "anime": -0.3}
    ),
    "a label without its score above 0": lambda body: verdict(
        body,
        labels=[],
        scores={"subject": 0.1, "underage": 0.2, "nsfw": 0.3, "anime": -0.3, "csam": 0.2},
    ),
    "scores in percent": lambda body: verdict(
        body,
        labels=["nsfw"],
        scores={"subject": 80.0, "underage": -20.0, "nsfw": 61.5, "anime": -3.0, "csam": -20.0},
    ),
    "a similarity past 1": lambda body: verdict(body, prompt_scores={"a photo": 4.0}),
    "unreadable, with labels": lambda body: verdict(
        body, unreadable="not an image", labels=["nsfw"], scores={"nsfw": 0.3}
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ANSWERS))
def test_a_verdict_not_on_what_was_asked_is_no_verdict(case):
    mock, asked = workers({"w1": BAD_ANSWERS[case], "w2": good})
    with RemoteEngine(URLS, TOKEN, transport=mock) as engine:
        got = engine.classify_many([b"the image sent"])[0]
    assert got.labels == () and got.sha256 == hashlib.sha256(b"the image sent").hexdigest()
    assert asked == {"w1": 1, "w2": 1}, "the next worker was asked"
    # alone, it is never taken for a verdict
    mock, _ = workers({"w1": BAD_ANSWERS[case]})
    with (
        RemoteEngine(URLS[:1], TOKEN, transport=mock, max_backoff=0.1) as engine,
        pytest.raises(RemoteError, match="not a verdict"),
    ):
        engine.classify_many([b"the image sent"])


def test_the_custom_concepts_sent_must_be_scored():
    gore = CustomConcept("gore", ("gore",), 0.2)
    ignored = good  # a worker that did not read X-Modbot-Concepts: no gore score

    def scored(body: bytes) -> dict:
        return verdict(body, scores={**verdict(body)["scores"], "gore": -0.05})

    mock, asked = workers({"w1": ignored, "w2": scored})
    with RemoteEngine(URLS, TOKEN, custom=[gore], transport=mock) as engine:
        assert engine.classify_many([b"img"])[0].scores["gore"] == -0.05
    assert asked == {"w1": 1, "w2": 1}
    # and a well-formed verdict is taken as it is, unreadable ones too
    mock, asked = workers({"w1": lambda body: verdict(body, unreadable="not an image", scores={})})
    with RemoteEngine(URLS[:1], TOKEN, transport=mock) as engine:
        assert engine.classify_many([b"img"])[0].unreadable == "not an image"


RULES = """
fetch: {{allow_hosts: ["{remote}"]}}
lemmy: {{requests_per_minute: 6000, lookback: 6h, timeout: 10s}}
rules:
  - name: csam
    if: {{labels: [csam]}}
    then:
      remove: "csam"
      ban: {{scope: site, duration: permanent, remove_data: false, reason: "csam"}}
"""


def test_the_bot_never_acts_on_a_verdict_for_another_image(fake_lemmy, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    head = _policy_head(tiny.checkpoint, tmp_path, ())
    path = tmp_path / "rules.yaml"
    path.write_text(head + RULES.format(remote=_remote(lemmy)))
    policy = load_policy(path)
    upload = lemmy.add_upload(cast.bob, hostile.jpeg(color=(200, 30, 30)))
    post = lemmy.add_post(cast.pics, cast.bob, name="a photo", url=upload.url)
    mock, asked = workers({"w1": BAD_ANSWERS["another image"]})
    engine = RemoteEngine(URLS[:1], TOKEN, transport=mock, max_backoff=0.1)
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
        lemmy.clear_requests()
        pipeline.poll_once()
        decisions = [d for d in pipeline.store.decisions() if d["item"]["id"] == post.id]
    finally:
        pipeline.close()
        engine.close()
    assert asked["w1"] >= 1, "the worker was asked"
    # (the bot's own account settings aside)
    changed = [r.path for r in lemmy.mutating_requests() if "user/save_user" not in r.path]
    assert changed == [], "no removal, no ban"
    assert not lemmy.post(post.id).removed
    assert [d["rule"] for d in decisions] == [None]
    assert decisions[0]["skipped"] in ("classifier_unavailable", "classifier_error")
    assert not decisions[0]["labels"]
