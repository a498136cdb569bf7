"""With several workers and none giving a verdict, the decision record kept only the
first 300 characters of what they said: a worker's long reason (its error, a proxy's
advice) pushed the later workers out, so the admin could not tell what the last one
said, or that it was asked at all. Now each worker's reason is bounded, and every worker
asked is named in the bot's record and the gate's."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from support.policies import _policy_head, _remote
from test_gate_decide import SECRET, ask, gate_for
from test_h23_wrk_verdict_checked import INFO, RULES, TOKEN

from classifier.remote import WORKER_SAID_CHARS, RemoteEngine
from fakelemmy import hostile
from modbot.config.policy import load_policy
from modbot.config.settings import Secret, Settings
from modbot.modes.gate import Gate
from modbot.pipeline import Pipeline

URLS = [f"http://worker-{n}.example:8095" for n in range(1, 5)]
LONG = "the model's queue is full: " + "x" * 400  # a worker's error, long

ANSWERS = {
    # every worker refuses the image itself: classifier_error
    "classifier_error": lambda: httpx.Response(413, json={"error": LONG}),
    # none gives a verdict: classifier_unavailable
    "classifier_unavailable": lambda: httpx.Response(503, json={"error": LONG}),
}


def engine_for(skipped: str) -> RemoteEngine:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/info":
            return httpx.Response(200, json=INFO)
        return ANSWERS[skipped]()

    return RemoteEngine(URLS, TOKEN, transport=httpx.MockTransport(handler), max_backoff=0.1)


@pytest.mark.parametrize("skipped", ANSWERS)
def test_the_bots_record_names_every_worker(fake_lemmy, tiny, tmp_path, skipped):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    path = tmp_path / "rules.yaml"
    path.write_text(
        _policy_head(tiny.checkpoint, tmp_path, ()) + RULES.format(remote=_remote(lemmy))
    )
    upload = lemmy.add_upload(cast.bob, hostile.jpeg(color=(30, 200, 30)))
    post = lemmy.add_post(cast.pics, cast.bob, name="a photo", url=upload.url)
    engine = engine_for(skipped)
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
        (decision,) = [d for d in pipeline.store.decisions() if d["item"]["id"] == post.id]
    finally:
        pipeline.close()
        engine.close()
    assert decision["skipped"] == skipped
    detail = decision["skipped_detail"]
    # before: only worker-1 (its 300 characters)
    assert [url for url in URLS if url in detail] == URLS, detail
    # each worker's reason bounded (a worker's error alone is up to 300 characters)
    assert len(detail) <= len(URLS) * (WORKER_SAID_CHARS + 2) + 100, detail


def test_the_gates_record_names_every_worker(tmp_path):
    made = gate_for(tmp_path, "gate: {on_timeout: allow}\n", {})
    made.close()
    engine = engine_for("classifier_unavailable")
    gate = Gate(made.policy, made.store, engine, secret=SECRET)
    try:
        _, answer = asyncio.run(ask(gate, b"\x89PNG\r\n\x1a\n an upload"))
    finally:
        gate.close()
        engine.close()
    (record,) = made.store.decisions()
    made.store.close()
    assert answer["outcome"] == "allowed_without_verdict"
    why = record["gate"]["why"]
    assert [url for url in URLS if url in why] == URLS, why
