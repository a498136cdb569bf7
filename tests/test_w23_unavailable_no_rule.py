"""An image no classifier answered for (every worker down) is `classifier_unavailable`:
looked at again later, and matched by no rule, not even `skipped: true` (docs/rules.md:
"no rule runs"). A `skipped: true` rule that removed it would act on the workers'
outage, not on anything about the image."""

from __future__ import annotations

import httpx
from support.policies import _policy_head, _remote
from test_h23_wrk_verdict_checked import INFO, RULES, TOKEN, URLS, verdict

from classifier.remote import RemoteEngine
from fakelemmy import hostile
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.pipeline import Pipeline

NOT_CHECKED = """  - name: not checked
    if: {skipped: true}
    then: {remove: "could not be checked"}
"""


def test_no_rule_acts_on_an_image_while_no_worker_answers(fake_lemmy, tiny, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    path = tmp_path / "rules.yaml"
    path.write_text(
        _policy_head(tiny.checkpoint, tmp_path, ())
        + RULES.format(remote=_remote(lemmy))
        + NOT_CHECKED
    )
    upload = lemmy.add_upload(cast.bob, hostile.jpeg(color=(20, 130, 30)))
    post = lemmy.add_post(cast.pics, cast.bob, name="a photo", url=upload.url)
    worker = {"up": False}

    def handler(request: httpx.Request) -> httpx.Response:
        if not worker["up"]:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/v1/info":
            return httpx.Response(200, json=INFO)
        return httpx.Response(200, json=verdict(request.content))  # nothing fired

    engine = RemoteEngine(URLS, TOKEN, transport=httpx.MockTransport(handler), max_backoff=0.1)
    settings = Settings(
        lemmy.url,
        "modbot",
        Secret("pw"),
        lemmy.pictrs_url,
        Secret(lemmy.pictrs_api_key),
        tmp_path / "state.sqlite3",
    )
    pipeline = Pipeline(settings, load_policy(path), dry_run=False, engine=engine)
    try:
        pipeline.poll_once()
        first = [d for d in pipeline.store.decisions() if d["item"]["id"] == post.id]
        assert [(d["skipped"], d["rule"]) for d in first] == [("classifier_unavailable", None)]
        assert not lemmy.post(post.id).removed, "removed for the workers' outage"
        assert not [r.path for r in lemmy.mutating_requests() if "remove" in r.path]
        worker["up"] = True  # the workers are back: looked at again, clean, kept
        pipeline.poll_once()
        later = [d for d in pipeline.store.decisions() if d["item"]["id"] == post.id]
    finally:
        pipeline.close()
        engine.close()
    assert [(d["skipped"], d["rule"]) for d in later][-1] == (None, None)
    assert not lemmy.post(post.id).removed
