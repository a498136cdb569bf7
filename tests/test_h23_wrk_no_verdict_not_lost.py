"""When no worker gives a verdict (each answers a proxy's page, or a verdict on another
image), the image is `classifier_unavailable`, as when no worker answers: the item is
not marked seen and is looked at again once a worker answers. It used to be
`classifier_error`: marked seen, so never classified, and matched by `skipped:` rules."""

from __future__ import annotations

import httpx
import pytest
from support.policies import _policy_head, _remote
from test_h23_wrk_verdict_checked import BAD_ANSWERS, INFO, RULES, TOKEN, URLS, verdict

from classifier.remote import ClassifierUnavailable, RemoteEngine
from fakelemmy import hostile
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.pipeline import Pipeline


def page(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, content=b"<html>sign in to continue</html>", headers={"Content-Type": "text/html"}
    )


def csam(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200,
        json=verdict(
            request.content,
            labels=["csam", "nsfw", "underage"],
            scores={"subject": 0.1, "underage": 0.2, "nsfw": 0.3, "anime": -0.3, "csam": 0.2},
        ),
    )


def another_image(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=BAD_ANSWERS["another image"](request.content))


@pytest.mark.parametrize("answer", [page, another_image])
def test_when_no_worker_gives_a_verdict_the_classifier_is_unavailable(answer):
    mock = httpx.MockTransport(answer)
    with (
        RemoteEngine(URLS, TOKEN, transport=mock, max_backoff=0.1) as engine,
        pytest.raises(ClassifierUnavailable, match="not a verdict"),
    ):
        engine.classify_many([b"img"])


def test_an_image_a_broken_worker_answered_is_looked_at_again(fake_lemmy, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    path = tmp_path / "rules.yaml"
    path.write_text(
        _policy_head(tiny.checkpoint, tmp_path, ())
        + RULES.format(remote=_remote(lemmy))
        + """  - name: not checked
    if: {skipped: classifier_error}
    then: {report: "the classifier failed on this image"}
"""
    )
    policy = load_policy(path)
    upload = lemmy.add_upload(cast.bob, hostile.jpeg(color=(200, 30, 30)))
    post = lemmy.add_post(cast.pics, cast.bob, name="a photo", url=upload.url)
    worker = {"answer": page}  # a proxy's sign-in page before the only worker

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/info":
            return httpx.Response(200, json=INFO)
        return worker["answer"](request)

    engine = RemoteEngine(URLS[:1], TOKEN, transport=httpx.MockTransport(handler), max_backoff=0.1)
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
        assert lemmy.reports == [], "no rule ran on an image nobody classified"
        assert not lemmy.post(post.id).removed
        worker["answer"] = csam  # the proxy fixed: the worker answers
        pipeline.poll_once()
        later = [d for d in pipeline.store.decisions() if d["item"]["id"] == post.id]
    finally:
        pipeline.close()
        engine.close()
    assert [d["rule"] for d in later if d["rule"]] == ["csam"], "looked at again, and acted on"
    assert lemmy.post(post.id).removed
