"""`modbot gate`'s decisions, in process: a `Gate` on a stand-in classifier, asked over
ASGI as pict-rs asks it (the stored bytes, their `Content-Type`). Fast cases of what
tests/test_gate.py drives through the real command: which hash lists refuse at the
door, the time budget kept however long the files take to hash, and the memory the
files waiting for a verdict hold, and that of the decodes for a perceptual hash."""

from __future__ import annotations

import asyncio
import hashlib
import io
import threading
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

import modbot.modes.gate
import modbot.rules
from classifier.budget import DecodeBudget
from classifier.preprocess import PreprocessConfig
from fakelemmy.scenarios import PASSWORD
from modbot.config.policy import load_policy
from modbot.modes.gate import HASH_DECODES, Gate
from modbot.store import Store

SECRET = "gate-secret-0123456789abcdef"
CLASSIFIER = """
classifier: {model: modbot-tiny, pretrained: null, device: cpu, allow_random_weights: true}
"""


class _Verdict:
    def to_dict(self) -> dict:
        return {"labels": [], "scores": {"nsfw": -0.5}, "unreadable": None, "concept_version": "v1"}


class Engine:
    """A classifier that finds nothing, at once, and counts what it was given."""

    concept_version = "v1"
    random_weights = True

    def __init__(self) -> None:
        self.given = 0

    async def ready(self) -> str:
        return "v1"

    async def classify(self, data: bytes) -> _Verdict:
        self.given += 1
        return _Verdict()

    def close(self) -> None:
        pass


def gate_for(tmp_path: Path, rules: str, lists: dict[str, str]) -> Gate:
    for name, text in lists.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "rules.yaml").write_text(CLASSIFIER + rules)
    policy = load_policy(tmp_path / "rules.yaml")
    return Gate(policy, Store(tmp_path / "state.sqlite3"), Engine(), secret=SECRET)


async def ask(gate: Gate, body: bytes, media_type: str = "image/png") -> tuple[int, dict]:
    transport = httpx.ASGITransport(app=gate.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
        answer = await client.post(
            f"/validate/{SECRET}", content=body, headers={"Content-Type": media_type}
        )
        return answer.status_code, answer.json()


@pytest.mark.parametrize("kind", ["md5", "sha1", "sha256"])
def test_an_exact_hash_list_of_any_kind_refuses_at_the_door(tmp_path, kind):
    body = b"\x89PNG\r\n\x1a\n not really a picture"
    gate = gate_for(
        tmp_path,
        f"""
hash_lists:
  known-bad: {{kind: {kind}, file: bad.txt}}
rules:
  - name: known bad
    if: {{type: incoming, hash_list: known-bad}}
    then: {{reject: true}}
""",
        {"bad.txt": hashlib.new(kind, body).hexdigest() + "\n"},
    )
    try:
        status, answer = asyncio.run(ask(gate, body))
        assert (status, answer["outcome"], answer["rule"]) == (406, "rejected", "known bad")
        assert gate.engine.given == 0  # a hash decided it: no classifier
        assert asyncio.run(ask(gate, body + b"!"))[0] == 200
    finally:
        gate.close()


def test_files_slow_to_hash_are_answered_within_the_budget(tmp_path, monkeypatch):
    """A perceptual hash decodes the file (a second or more for a large PNG, two at a
    time): files queued behind such decodes get `gate.on_timeout` within the budget, not
    an answer seconds later (past pict-rs' 30 s the upload fails whatever the policy);
    past it they are not decoded at all, and the hashes of the bytes still refuse."""
    real, decoded = modbot.modes.gate.decoded_hashes, []

    def slow_decoded_hashes(*args):
        decoded.append(threading.get_ident())
        time.sleep(1.0)
        return real(*args)

    monkeypatch.setattr(modbot.modes.gate, "decoded_hashes", slow_decoded_hashes)
    known_bad = b"\x89PNG\r\n\x1a\n known bad"
    gate = gate_for(
        tmp_path,
        """
hash_lists:
  look-alikes: {kind: phash, file: phash.txt}
  known-bad: {kind: sha256, file: bad.txt}
gate: {budget: 0.5s, on_timeout: reject}
rules:
  - name: known bad
    if: {type: incoming, hash_list: [look-alikes, known-bad]}
    then: {reject: true}
""",
        {"phash.txt": "8000000000000001\n", "bad.txt": hashlib.sha256(known_bad).hexdigest()},
    )

    async def timed(body: bytes) -> tuple[float, int, str]:
        start = time.monotonic()
        status, answer = await ask(gate, body)
        return time.monotonic() - start, status, answer["outcome"]

    async def many() -> list[tuple[float, int, str]]:
        files = [b"\x89PNG\r\n\x1a\n file %d" % n for n in range(6)]
        return await asyncio.gather(*(timed(body) for body in [*files, known_bad]))

    try:
        answers = asyncio.run(many())
        assert [(s, o) for _, s, o in answers] == [(503, "refused_without_verdict")] * 6 + [
            (406, "rejected")
        ]
        # before: 3 s and more (six 1 s decodes, two at a time); slack for a busy machine
        assert max(t for t, _, _ in answers) < 0.5 + 1.5, answers
        assert len(decoded) <= HASH_DECODES  # the files past the budget: not decoded
        assert gate.counters["refused_without_verdict"] == 6
        assert gate.engine.given == 0
    finally:
        gate.close()


class Stuck(Engine):
    """A classifier that answers only once ``go`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()

    async def classify(self, data: bytes) -> _Verdict:
        self.given += 1
        while not self.go.is_set():
            await asyncio.sleep(0.01)
        return _Verdict()


def test_files_waiting_for_a_slow_classifier_hold_at_most_max_bytes_held(tmp_path):
    """A classifier slower than the uploads come: each file answered past the budget
    stays in memory until its verdict comes (it is cached for the bot). They hold at
    most fetch.max_bytes_held; a file past it gets gate.on_timeout at once (`busy`),
    but one whose verdict is cached is still decided by it."""
    mb = 1_000_000
    gate = gate_for(
        tmp_path,
        f"""
fetch: {{max_bytes: {mb}, max_bytes_held: {3 * mb}}}
gate: {{budget: 0.2s, on_timeout: reject, max_bytes: {mb}}}
rules:
  - name: csam
    if: {{type: incoming, labels: [csam]}}
    then: {{reject: true}}
""",
        {},
    )
    gate.engine = engine = Stuck()
    files = [bytes([n]) * mb for n in range(6)]
    known = b"\x89PNG\r\n\x1a\n seen before"
    Store(tmp_path / "state.sqlite3").put_verdict(
        hashlib.sha256(known).hexdigest(), "v1", _Verdict().to_dict()
    )

    async def scenario() -> None:
        answers = [await ask(gate, body) for body in files]
        assert [a["outcome"] for _, a in answers] == ["refused_without_verdict"] * 6
        assert [a["why"].split(":")[0] for _, a in answers] == ["timeout"] * 3 + ["busy"] * 3
        assert answers[3][0] == 503 and "fetch.max_bytes_held" in answers[3][1]["why"]
        assert engine.given == 3  # the files past the bound were not handed to it
        status, answer = await ask(gate, known)  # a cached verdict needs no memory
        assert (status, answer["outcome"]) == (200, "accepted")
        waiting = (await health(gate))["waiting_for_verdict"]
        assert waiting == {"files": 3, "bytes": 3 * mb, "max_bytes": 3 * mb}
        engine.go.set()  # the verdicts come (and are cached): the memory is given back
        for _ in range(200):
            if not gate._verdicts:
                break
            await asyncio.sleep(0.01)
        assert (await health(gate))["waiting_for_verdict"]["bytes"] == 0
        assert (await ask(gate, files[5]))[0] == 200
        assert engine.given == 4

    try:
        asyncio.run(scenario())
    finally:
        gate.close()


async def health(gate: Gate) -> dict:
    transport = httpx.ASGITransport(app=gate.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
        return (await client.get("/healthz")).json()


class Local(Engine):
    """A classifier in this process: its decodes hold memory in its decode budget."""

    def __init__(self, decode_memory: int) -> None:
        super().__init__()
        self.decode_budget = DecodeBudget(decode_memory)
        self.preprocess = PreprocessConfig()


def png(width: int, height: int, shade: int) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), (shade, 0, 0))
    # shapes, one wider for a lighter shade: one colour all over has no pHash, nor is a
    # list entry near one's used (HASHING 6), and a lone band's is near one's
    image.paste((255, 255, 255), (0, 0, width * (shade + 10) // 128, height // 3))
    image.paste((0, 0, 255), (width // 2, height // 2, width * 3 // 4, height * 5 // 6))
    image.save(out, "PNG")
    return out.getvalue()


def test_the_decode_for_a_perceptual_hash_holds_its_memory_in_the_decode_budget(tmp_path):
    """classifier.decode_memory bounds every image decode of a local classifier: the
    gate's decode for a perceptual hash too (taken before the classifier's), and a file
    too costly to decode within it gets no perceptual hash, as in the bot."""
    small, large = png(200, 200, 10), png(3000, 3000, 20)
    gate = gate_for(
        tmp_path,
        """
hash_lists:
  look-alikes: {kind: phash, file: phash.txt}
rules:
  - name: look-alike
    if: {type: incoming, hash_list: look-alikes}
    then: {reject: true}
""",
        {
            "phash.txt": "".join(
                f"{modbot.rules.hashes_of(b, ['phash'])['phash']}\n" for b in (small, large)
            )
        },
    )
    gate.engine = engine = Local(decode_memory=8_000_000)
    try:
        status, answer = asyncio.run(ask(gate, small))
        assert (status, answer["rule"]) == (406, "look-alike")
        assert 0 < engine.decode_budget.peak < 8_000_000  # the hash's decode was counted
        assert engine.decode_budget.in_use == 0
        # 27 MB of pixels: over the whole budget, so not decoded for its hash
        status, answer = asyncio.run(ask(gate, large))
        assert (status, answer["outcome"]) == (200, "accepted")
        assert engine.decode_budget.refused == 1
    finally:
        gate.close()


class Unreadable(Engine):
    """A classifier that cannot read what it is given (a video, say)."""

    async def classify(self, data: bytes) -> _Verdict:
        self.given += 1
        verdict = _Verdict()
        verdict.to_dict = lambda: {  # type: ignore[method-assign]
            "labels": [],
            "scores": {},
            "unreadable": "not an image format modbot reads",
            "concept_version": "v1",
        }
        return verdict


def test_a_rule_on_the_verdict_waits_for_the_verdict(tmp_path):
    """Before the classifier has looked, the hashes decide only by the rules without a
    condition on its verdict: `unreadable: false` (every image, no video) refused a
    video as "readable" with no verdict at all."""
    gate = gate_for(
        tmp_path,
        """
rules:
  - name: images only
    if: {type: incoming, unreadable: false}
    then: {reject: true}
""",
        {},
    )
    gate.engine = engine = Unreadable()
    try:
        status, answer = asyncio.run(ask(gate, b"\x00\x00\x00\x18ftypmp42 a video", "video/mp4"))
        assert (status, answer["outcome"]) == (200, "accepted")
        assert engine.given == 1
        gate.engine = Engine()  # a readable image: the rule holds on the verdict
        status, answer = asyncio.run(ask(gate, b"\x89PNG\r\n\x1a\n an image"))
        assert (status, answer["rule"]) == (406, "images only")
    finally:
        gate.close()


def test_no_admin_to_tell_but_the_bot_is_said_once_not_retried_each_minute(
    fake_lemmy, tmp_path, monkeypatch, caplog
):
    """A small instance whose only admin is the bot's login (the admin's own account):
    nobody to send the report to. It stays in the log, as the bot's notices are then
    skipped; before, it counted as a failure and was tried again (and logged) every
    minute, for ever, raising /healthz's admin_reports.failed."""
    from modbot.config.settings import Settings
    from modbot.modes import gate as gate_mode

    monkeypatch.setattr(gate_mode, "REPORT_RETRY_S", 0.0)
    with fake_lemmy.state.lock:
        fake_lemmy.state.persons[fake_lemmy.cast.admin.id].admin = False
    settings = Settings.from_env(
        {"LEMMY_URL": fake_lemmy.url, "LEMMY_USERNAME": "modbot", "LEMMY_PASSWORD": PASSWORD}
    )
    store = Store(tmp_path / "state.sqlite3")
    reports = gate_mode.AdminReports(store, every_s=3600.0, settings=settings)
    try:
        reports.note("allowed_without_verdict", "timeout", "a" * 64)
        with caplog.at_level("WARNING", logger="modbot.modes.gate"):
            reports.flush()
            reports.flush()  # within report_every: nothing again
        assert fake_lemmy.private_messages == []
        assert (reports.sent, reports.failed) == (0, 0) and not reports.pending
        assert store.get_cursor(reports.CURSOR) is not None
        said = [r.getMessage() for r in caplog.records]
        assert sum("admin report:" in m for m in said) == 1
        assert any("no admin to tell but the bot's own account" in m for m in said), said
    finally:
        store.close()


def test_pict_rs_hanging_up_mid_file_is_a_warning_not_a_server_error(tmp_path, caplog):
    """pict-rs gives up after its external_validation_timeout, or stops, while it streams
    the file: the gate said so with a 500 and a traceback ("Exception in ASGI
    application"); it is a counted warning that says what to look at."""
    gate = gate_for(tmp_path, "rules: []\n", {})
    messages = [{"type": "http.request", "body": b"\x89PNG\r\n", "more_body": True}]

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/validate/{SECRET}",
        "raw_path": f"/validate/{SECRET}".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"image/png"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8096),
    }
    try:
        with caplog.at_level("WARNING", logger="modbot.modes.gate"):
            asyncio.run(gate.app(scope, receive, send))
        assert sent[0]["status"] != 500
        assert gate.counters["hung_up"] == 1
        assert any("pict-rs hung up" in r.getMessage() for r in caplog.records)
        assert SECRET not in caplog.text
    finally:
        gate.close()
