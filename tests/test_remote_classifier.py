"""The bot on a remote classifier (`classifier.remote` in rules.yaml): `RemoteEngine`
against real workers (uvicorn on 127.0.0.1, the tiny model), failover, and the bot
through its real entry point with no torch in its process.

One worker serves the module, in this process; "down" workers are ports nobody listens
on, "broken" ones a stdlib HTTP server answering a fixed status.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import sys
import threading
import time
from functools import partial
from pathlib import Path

import httpx
import pytest
from support.bot import Bot, mutations, remote_photo, sha
from support.policies import BAD, GENERATED, write_rules
from support.worker import TOKEN, dead_url

from classifier.remote import (
    ClassifierUnavailable,
    RemoteRequestRefused,
    WorkerRefused,
    check_worker_url,
)
from classifier.remote import (
    RemoteEngine as _RemoteEngine,
)
from fakelemmy import hostile

# The test workers run the tiny model, random weights: allowed, as tests' rules allow them
RemoteEngine = partial(_RemoteEngine, allow_random_weights=True)

BLOCK_TORCH = '''
import json, os, sys
class _NoTorch:
    """A bot on a remote classifier never imports these (the test reads the log)."""
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "open_clip", "torchvision"):
            with open(os.environ["NO_TORCH_LOG"], "a") as f:
                f.write(name + "\\n")
            raise ImportError(f"{name} is blocked: the bot runs on a remote classifier")
        return None
sys.meta_path.insert(0, _NoTorch())
'''


class Broken:
    """A 'worker' answering every request with `status` (and counting them); with
    `info`, `GET /v1/info` answers 200 and that."""

    def __init__(
        self,
        status: int,
        headers: dict | None = None,
        info: dict | None = None,
        verdict: dict | None = None,
    ):
        outer = self
        self.hits = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                outer.hits += 1
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                if info is not None and self.path == "/v1/info":
                    body = json.dumps(info).encode()
                    self.send_response(200)
                elif verdict is not None and self.path == "/v1/classify":
                    body = json.dumps(verdict).encode()
                    self.send_response(200)
                else:
                    body = json.dumps({"error": f"broken worker says {status}"}).encode()
                    self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def broken():
    made = []

    def make(status, headers=None, info=None, verdict=None):
        made.append(Broken(status, headers, info, verdict))
        return made[-1]

    yield make
    for b in made:
        b.close()


# -- RemoteEngine ---------------------------------------------------------------------------


def test_remote_verdicts_are_the_workers_and_the_concept_version_is_learnt(worker, photos):
    with RemoteEngine([worker.url], TOKEN) as engine:
        assert engine.concept_version is None
        said = engine.check()
        assert engine.concept_version == worker.service.default_engine.concept_version
        assert "modbot-tiny/random-weights" in said[worker.url]
        verdicts = engine.classify_many([photos["coffee"], hostile.html_page()])
    (direct,) = worker.service.default_engine.classify_many([photos["coffee"]])
    assert verdicts[0].labels == direct.labels and verdicts[0].sha256 == direct.sha256
    assert verdicts[0].scores == pytest.approx(direct.scores, abs=1e-6)
    assert "not an image" in verdicts[1].unreadable


def test_failover_to_the_next_worker_and_backoff_for_the_failed_ones(worker, broken, photos):
    down, failing = dead_url(), broken(503)
    with RemoteEngine([down, failing.url, worker.url], TOKEN) as engine:
        verdict = engine.classify_many([photos["chelsea"]])[0]
        assert verdict.labels is not None and engine.stats["failovers"] == 2
        assert failing.hits == 1
        # both failed workers are left alone for a while: the next image goes straight on
        before = engine.stats["requests"]
        engine.classify_many([photos["astronaut"]])
        assert engine.stats["requests"] == before + 1 and failing.hits == 1


def test_a_worker_over_quota_is_skipped_for_its_retry_after(worker, broken, photos):
    busy = broken(429, {"Retry-After": "30"})
    with RemoteEngine([busy.url, worker.url], TOKEN) as engine:
        engine.classify_many([photos["chelsea"]])
        engine.classify_many([photos["china"]])
        assert busy.hits == 1, "after a 429 the worker is not asked again before Retry-After"


def test_all_workers_down_is_classifier_unavailable_soon(broken):
    down, failing = dead_url(), broken(502)
    with RemoteEngine([down, failing.url], TOKEN) as engine:
        started = time.monotonic()
        with pytest.raises(ClassifierUnavailable) as caught:
            engine.classify_many([b"anything"])
        assert time.monotonic() - started < 10
        detail = caught.value.detail
        assert down in detail and "cannot connect" in detail
        assert failing.url in detail and "502" in detail
        # meanwhile every worker is in its backoff: the next image fails at once
        started = time.monotonic()
        with pytest.raises(ClassifierUnavailable):
            engine.classify_many([b"anything"])
        assert time.monotonic() - started < RETRY_BOUND


RETRY_BOUND = 5.0  # classifier.remote.RETRY_WAIT plus slack


def test_a_refused_token_is_a_configuration_error_said_clearly(worker, broken, photos, caplog):
    with (
        RemoteEngine([worker.url], "wrong-token-0123456789abcdef") as engine,
        pytest.raises(WorkerRefused) as caught,
    ):
        engine.check()
    message = str(caught.value)
    assert worker.url in message and "401" in message and "MODBOT_CLASSIFIER_TOKEN" in message
    assert "wrong-token" not in message
    with (
        RemoteEngine([worker.url], None) as engine,
        pytest.raises(WorkerRefused, match="needs a token: set MODBOT_CLASSIFIER_TOKEN"),
    ):
        engine.check()
    # a worker that refuses while the bot runs: the next one answers, the log says why
    refusing = broken(403)
    with RemoteEngine([refusing.url, worker.url], TOKEN) as engine:
        engine.classify_many([photos["coffee"]])
    assert f"classifier worker {refusing.url} refused the token (403" in caplog.text
    assert TOKEN not in caplog.text


def test_a_request_no_worker_will_accept_is_not_retried(worker, photos):
    with RemoteEngine([worker.url], TOKEN, custom=[]) as engine:
        engine.check()
    from classifier import CustomConcept

    with (
        RemoteEngine([worker.url], TOKEN, concept_set="nonesuch") as engine,
        pytest.raises(RemoteRequestRefused, match="unknown concept set"),
    ):
        engine.check()
    with RemoteEngine(
        [worker.url], TOKEN, custom=[CustomConcept("gore", ("gore",), 0.2)]
    ) as engine:
        assert engine.classify_many([photos["coffee"]])[0].scores.keys() >= {"gore", "csam"}


def test_the_concept_version_follows_the_worker_it_came_from(worker, broken, photos, caplog):
    info = httpx.get(f"{worker.url}/v1/info", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    verdict = worker.service.default_engine.classify_many([photos["coffee"]])[0].to_dict()
    upgraded = broken(500, info=info, verdict={**verdict, "concept_version": "0123456789abcdef"})
    with RemoteEngine([upgraded.url, worker.url], TOKEN) as engine:
        engine.check()
        assert engine.concept_version == info["concept_version"]
        assert engine.classify_many([photos["coffee"]])[0].concept_version == "0123456789abcdef"
        assert engine.concept_version == "0123456789abcdef", "the cache key moves with its worker"
    assert "now serves concept version 0123456789abcdef" in caplog.text


@pytest.mark.parametrize(
    "url, said",
    [
        ("ftp://worker:8095", "http:// or https://"),
        ("https://user:secret@worker:8095", "no user or password"),
        ("https://worker:8095/?token=x", "no query"),
        ("https://", "no host"),
        ("https://worker:99999", "bad port"),
    ],
)
def test_worker_urls_are_checked(url, said):
    with pytest.raises(ValueError, match=said):
        check_worker_url(url)


# -- the bot ----------------------------------------------------------------------------------


def remote_rules(directory: Path, lemmy, tiny, urls, **kwargs) -> Path:
    path = write_rules(directory, lemmy, tiny, **kwargs)
    text = re.sub(
        r"classifier: \{[^}]*\}\n",
        "classifier:\n  allow_random_weights: true\n"
        f"  remote: {{urls: {json.dumps(urls)}, timeout: 20s}}\n",
        path.read_text(),
    )
    remote = directory / "remote-rules.yaml"
    remote.write_text(text)
    return remote


def remote_bot(lemmy, directory: Path, rules: Path, token: str | None = TOKEN) -> Bot:
    bot = Bot(lemmy, directory, rules)
    blocker = directory / "no-torch"
    blocker.mkdir(exist_ok=True)
    (blocker / "sitecustomize.py").write_text(BLOCK_TORCH)
    bot.env["PYTHONPATH"] = os.pathsep.join(
        [str(blocker), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    bot.env["NO_TORCH_LOG"] = str(directory / "torch-imports.log")
    bot.env.pop("MODBOT_CLASSIFIER_TOKEN", None)
    if token is not None:
        bot.env["MODBOT_CLASSIFIER_TOKEN"] = token
    return bot


def torch_imports(directory: Path) -> list[str]:
    log = directory / "torch-imports.log"
    return log.read_text().split() if log.exists() else []


def decisions_by_image(records: list[dict]) -> dict:
    return {
        (r["item"]["kind"], r["item"]["id"], r["image"]["location"], r["image"]["url"]): r
        for r in records
    }


def test_the_bot_on_a_remote_classifier_decides_as_in_process_without_torch(
    fake_lemmy, photos, tiny, worker, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    bad = lemmy.add_upload(cast.alice, photos[BAD])
    lemmy.add_post(cast.pics, cast.alice, name="known bad", url=bad.url)
    lemmy.add_post(
        cast.pics, cast.bob, name="flagged", url=remote_photo(lemmy, photos, tiny.flagged)
    )
    p = lemmy.add_post(
        cast.pics,
        cast.alice,
        name="others",
        body=" ".join(f"![x]({remote_photo(lemmy, photos, n)})" for n in tiny.others),
    )
    lemmy.add_comment(
        p, cast.bob, content=f"![y]({remote_photo(lemmy, photos, tiny.flagged, 'again.jpg')})"
    )
    broken = lemmy.add_remote_file(
        "broken.jpg", hostile.truncated_jpeg(), content_type="image/jpeg"
    )
    lemmy.add_post(cast.pics, cast.alice, name="broken", url=broken)
    lemmy.add_upload(cast.alice, GENERATED)

    local_dir, remote_dir = tmp_path / "local", tmp_path / "remote"
    local_dir.mkdir()
    remote_dir.mkdir()
    local = Bot(lemmy, local_dir, write_rules(local_dir, lemmy, tiny, known_bad=[sha(photos[BAD])]))
    local_run = local("run", "--once", "--dry-run")
    rules = remote_rules(remote_dir, lemmy, tiny, [worker.url], known_bad=[sha(photos[BAD])])
    bot = remote_bot(lemmy, remote_dir, rules)
    worker.requests.clear()
    remote_run = bot("run", "--once", "--dry-run")

    assert torch_imports(remote_dir) == [], "the bot on a remote classifier never imports torch"
    assert "on workers " + worker.url in remote_run.stderr
    assert mutations(lemmy) == [], "dry-run sends nothing that changes Lemmy"
    classify = [r for r in worker.requests if r == ("POST", "/v1/classify")]
    assert set(worker.requests) == {("POST", "/v1/classify"), ("GET", "/v1/info")}, worker.requests
    assert worker.requests.count(("GET", "/v1/info")) == 1, "one look at the worker at start"
    # the line says "N images; M classified": the worker got exactly those M
    classified = int(re.search(r"(\d+) classified", remote_run.stdout).group(1))
    assert len(classify) == classified > 0

    mine, theirs = decisions_by_image(local.decisions()), decisions_by_image(bot.decisions())
    assert mine.keys() == theirs.keys() and len(mine) == 9, sorted(mine)
    for key, a in mine.items():
        b = theirs[key]
        for field in (
            "labels",
            "rule",
            "actions",
            "skipped",
            "hash_match",
            "unreadable",
            "model",
            "random_weights",
            "concept_version",
            "matched",
            "exempt",
        ):
            assert a[field] == b[field], (key, field, a[field], b[field])
        assert a["scores"].keys() == b["scores"].keys()
        assert b["scores"] == pytest.approx(a["scores"], abs=1e-6), key
    rules_hit = sorted(r["rule"] for r in theirs.values() if r["rule"])
    # the known-bad file as a post's image and as an upload; the flagged photo twice
    assert rules_hit == ["known abusive image"] * 2 + ["probe"] * 2, rules_hit
    assert any(r["unreadable"] for r in theirs.values())

    # the same cycle summary, but for the memory figures: a remote bot decodes nothing
    def summary(run):
        return run.stdout.split(":", 1)[1].split("; memory peak")[0]

    assert summary(local_run) == summary(remote_run)


def test_when_no_worker_answers_images_are_skipped_and_looked_at_again(
    fake_lemmy, photos, tiny, worker, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(
        cast.pics, cast.bob, name="flagged", url=remote_photo(lemmy, photos, tiny.flagged)
    )
    down = [dead_url(), dead_url()]
    bot = remote_bot(lemmy, tmp_path, remote_rules(tmp_path, lemmy, tiny, down))
    first = bot("run", "--once")
    assert "does not answer now" in first.stderr
    (record,) = bot.decisions(first.stdout)
    assert record["skipped"] == "classifier_unavailable" and record["rule"] is None
    assert all(url in record["skipped_detail"] for url in down)
    assert "classifier_unavailable 1" in first.stdout
    assert mutations(lemmy) == [("lemmy", "PUT", "/api/v3/user/save_user_settings")]

    # a worker is back: the post was not marked seen, so it is decided now
    bot.env["MODBOT_RULES"] = str(remote_rules(tmp_path, lemmy, tiny, [down[0], worker.url]))
    second = bot("run", "--once")
    (record,) = bot.decisions(second.stdout)
    assert record["skipped"] is None and record["rule"] == "probe"
    assert [(a["action"], a["status"]) for a in record["actions"]] == [("report", "done")]
    assert [(r.kind, r.target_id) for r in lemmy.reports] == [("post", post.id)]
    assert torch_imports(tmp_path) == []


def test_a_token_the_worker_refuses_stops_the_bot_with_a_clear_message(
    fake_lemmy, tiny, worker, tmp_path
):
    rules = remote_rules(tmp_path, fake_lemmy, tiny, [worker.url])
    for token in ("wrong-token-0123456789abcdef", None):
        run = remote_bot(fake_lemmy, tmp_path, rules, token=token)("run", "--once", check=False)
        assert run.returncode == 1
        assert (
            "the classifier cannot start" in run.stderr and "MODBOT_CLASSIFIER_TOKEN" in run.stderr
        )
        assert f"classifier worker {worker.url} refused the token (401" in run.stderr
        assert "Traceback" not in run.stderr and "wrong-token" not in run.stderr
    assert mutations(fake_lemmy) == []


def test_check_rules_names_a_bad_worker_url_by_line(tmp_path):
    import subprocess

    (tmp_path / "rules.yaml").write_text(
        "classifier:\n"
        "  model: ViT-B-32\n"
        "  remote:\n"
        "    - https://gpu.example:8095\n"
        "    - ftp://backup.example\n"
        "    - https://bot:secret@gpu.example\n"
        "rules: []\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "check-rules", "rules.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert (
        "rules.yaml:5: classifier.remote.urls.1: worker URL 'ftp://backup.example': must "
        "start with http:// or https://" in done.stdout
    )
    assert "rules.yaml:6:" in done.stdout and "no user or password" in done.stdout
    (tmp_path / "rules.yaml").write_text(
        "classifier:\n"
        "  model: ViT-B-32\n"
        "  remote: {urls: [http://gpu.example.org:8095, http://worker:8095], timeout: 30s}\n"
        "rules: []\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "check-rules", "rules.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout
    assert "rules.yaml:2: warning: classifier.model: not used with classifier.remote" in done.stdout
    assert (
        "rules.yaml:3: warning: worker http://gpu.example.org:8095 is plain http://" in done.stdout
    )
    assert "http://worker:8095 is plain" not in done.stdout


def test_a_worker_that_fails_after_start_leaves_images_to_look_at_again(
    fake_lemmy, photos, tiny, worker, broken, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    lemmy.add_post(
        cast.pics, cast.bob, name="flagged", url=remote_photo(lemmy, photos, tiny.flagged)
    )
    info = httpx.get(f"{worker.url}/v1/info", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    failing = broken(500, info=info)  # knows its model, then fails every image
    bot = remote_bot(lemmy, tmp_path, remote_rules(tmp_path, lemmy, tiny, [failing.url]))
    run = bot("run", "--once", "--dry-run")
    (record,) = bot.decisions(run.stdout)
    assert record["skipped"] == "classifier_unavailable"
    assert f"{failing.url}: answered 500 broken worker says 500" in record["skipped_detail"]
    again = bot("run", "--once", "--dry-run")
    records = bot.decisions(again.stdout)  # (by id from the retry list, and listed again)
    assert records and {r["item"]["id"] for r in records} == {record["item"]["id"]}, (
        "not marked seen: looked at again"
    )


# -- hostile or broken answers (in process: httpx.MockTransport) -------------------------------

GOOD_VERDICT = {
    "labels": ["photo"],
    # every concept asked has a score (a worker's verdict is checked: check_verdict)
    "scores": {"photo": 0.9, "subject": 0.1, "underage": -0.1, "nsfw": -0.1, "anime": -0.1}
    | {"csam": -0.1},
    "model": "m",
    "random_weights": False,
    "concept_version": "0123456789abcdef",
}
GOOD_INFO = {"model": "m", "random_weights": False, "concept_version": "0123456789abcdef"}


def mock_workers(answers: dict):
    """A transport where worker host ``h`` answers ``answers[h](request)``, and the
    requests it got, by host."""
    asked: dict[str, list[str]] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        asked.setdefault(request.url.host, []).append(request.url.path)
        return answers[request.url.host](request)

    return httpx.MockTransport(handler), asked


def healthy(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/v1/info":
        return httpx.Response(200, json=GOOD_INFO)
    # on the image sent, as a worker's verdict is
    sha256 = hashlib.sha256(request.content).hexdigest()
    return httpx.Response(200, json={**GOOD_VERDICT, "sha256": sha256})


DEEP = b"[" * 100_000 + b"]" * 100_000  # JSON nested past what the parser can follow


def test_an_answer_nested_too_deeply_is_a_broken_answer_not_a_crash():
    def deep(status):
        return lambda request: httpx.Response(
            status, content=DEEP, headers={"Content-Type": "application/json"}
        )

    # an error answer: the next worker is asked
    transport, asked = mock_workers({"w1": deep(503), "w2": healthy})
    with RemoteEngine(["http://w1:8095", "http://w2:8095"], TOKEN, transport=transport) as engine:
        assert engine.classify_many([b"img"])[0].labels == ("photo",)
    assert asked == {"w1": ["/v1/classify"], "w2": ["/v1/classify"]}
    # a 200 that is no verdict: no worker answered
    transport, asked = mock_workers({"w1": deep(200)})
    with (
        RemoteEngine(["http://w1:8095"], TOKEN, transport=transport) as engine,
        pytest.raises(ClassifierUnavailable, match="not a verdict"),
    ):
        engine.classify_many([b"img"])
    # at start: the bot starts, the worker's info is said to be wrong
    transport, asked = mock_workers({"w1": deep(200), "w2": healthy})
    with RemoteEngine(["http://w1:8095", "http://w2:8095"], TOKEN, transport=transport) as engine:
        said = engine.check()
        assert "not what a modbot worker answers" in said["http://w1:8095"]
        assert engine.concept_version == "0123456789abcdef"


def test_an_answer_too_large_is_not_read_and_the_next_worker_is_asked():
    sent = {"w1": 0}
    chunk = b" " * (1 << 20)

    def endless(status):
        async def body():
            yield b'{"error": "huge"'
            for _ in range(64):  # 64 MB of JSON whitespace, where a verdict is a few KB
                sent["w1"] += len(chunk)
                yield chunk
            yield b"}"

        return lambda request: httpx.Response(
            status, content=body(), headers={"Content-Type": "application/json"}
        )

    for status in (200, 503):
        sent["w1"] = 0
        transport, asked = mock_workers({"w1": endless(status), "w2": healthy})
        urls = ["http://w1:8095", "http://w2:8095"]
        with RemoteEngine(urls, TOKEN, transport=transport) as engine:
            assert engine.classify_many([b"img"])[0].labels == ("photo",)
        assert asked == {"w1": ["/v1/classify"], "w2": ["/v1/classify"]}
        assert sent["w1"] <= 2 << 20, "the engine stops reading at its cap"
    # alone, it is a worker that did not answer; its length said up front is believed
    transport, asked = mock_workers(
        {"w1": lambda request: httpx.Response(200, headers={"Content-Length": str(1 << 30)})}
    )
    with (
        RemoteEngine(["http://w1:8095"], TOKEN, transport=transport) as engine,
        pytest.raises(ClassifierUnavailable, match="answered more than 1 MB"),
    ):
        engine.classify_many([b"img"])
    # at start, too
    transport, asked = mock_workers({"w1": endless(200), "w2": healthy})
    with RemoteEngine(["http://w1:8095", "http://w2:8095"], TOKEN, transport=transport) as engine:
        said = engine.check()
        assert "answered more than 1 MB" in said["http://w1:8095"]
        assert engine.concept_version == "0123456789abcdef"


def test_a_worker_dripping_its_answer_is_cut_off_at_the_timeout():
    """httpx's timeout is per read: a worker sending a byte now and then would hold an
    image (and its slot) far past `timeout`. The whole answer must come within it."""
    import asyncio
    import json

    verdict = json.dumps(GOOD_VERDICT).encode()

    def drip(request: httpx.Request) -> httpx.Response:
        async def body():
            for i in range(0, len(verdict), len(verdict) // 5 + 1):
                await asyncio.sleep(0.4)  # each read well within the timeout
                yield verdict[i : i + len(verdict) // 5 + 1]

        return httpx.Response(200, content=body(), headers={"Content-Type": "application/json"})

    transport, _ = mock_workers({"w1": drip})
    with (
        RemoteEngine(["http://w1:8095"], TOKEN, timeout=1.0, transport=transport) as engine,
        pytest.raises(ClassifierUnavailable, match="timed out after 1 s"),
    ):
        engine.classify_many([b"img"])
