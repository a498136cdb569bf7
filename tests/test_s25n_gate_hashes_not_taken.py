"""The upload gate's records say which kind of perceptual hash it could not take of a
file, and why (``image.hashes_not_taken``, as the bot's records do since 6b22be3), and
`modbot report`'s gate list carries it. Before, the gate's record showed it only by the
kind's absence: an admin could not tell why a pdq list never matched a refused file."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from pathlib import Path

import httpx
from PIL import Image

import modbot.modes.gate
from modbot.config.policy import load_policy
from modbot.modes.gate import Gate
from modbot.modes.report import add_gate_records
from modbot.modes.report_stream import ReportBuilder
from modbot.store import Store

SECRET = "gate-secret-0123456789abcdef"
RULES = """
classifier: {model: modbot-tiny, pretrained: null, device: cpu, allow_random_weights: true}
hash_lists:
  look-alikes: {kind: phash, file: phash.txt}
  look-alikes-pdq: {kind: pdq, file: pdq.txt}
gate: {budget: %s, on_timeout: reject}
rules:
  - name: listed look-alike
    if: {type: incoming, hash_list: [look-alikes, look-alikes-pdq]}
    then: {reject: true}
  - name: flagged at the door
    if: {type: incoming, labels: [csam]}
    then: {reject: true}
"""


class _Verdict:
    def to_dict(self) -> dict:
        return {
            "labels": ["csam"],
            "scores": {"csam": 0.9},
            "unreadable": None,
            "concept_version": "v1",
        }


class Engine:
    """A remote-like classifier (no decode budget here) that flags every file."""

    concept_version = "v1"
    random_weights = True

    async def ready(self) -> str:
        return "v1"

    async def classify(self, data: bytes) -> _Verdict:
        return _Verdict()

    def close(self) -> None:
        pass


def png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(out, "PNG")
    return out.getvalue()


def gate_for(tmp_path: Path, budget: str = "5s") -> Gate:
    # Far from every test picture's pHash: a flat one's is 8000000000000000 (HASHING 4).
    (tmp_path / "phash.txt").write_text("7fffffffffffffff\n")
    (tmp_path / "pdq.txt").write_text("1" * 64 + "\n")
    (tmp_path / "rules.yaml").write_text(RULES % budget)
    policy = load_policy(tmp_path / "rules.yaml")
    return Gate(policy, Store(tmp_path / "state.sqlite3"), Engine(), secret=SECRET)


async def ask(gate: Gate, body: bytes) -> tuple[int, dict]:
    transport = httpx.ASGITransport(app=gate.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
        answer = await client.post(
            f"/validate/{SECRET}", content=body, headers={"Content-Type": "image/png"}
        )
        return answer.status_code, answer.json()


def gate_report(tmp_path: Path) -> list[dict]:
    """The gate's list of the JSON report `modbot report` writes (the same builder)."""
    store = Store(tmp_path / "state.sqlite3")
    try:
        builder = ReportBuilder(tmp_path / "report.json")
        add_gate_records(builder, store, None)
        return json.loads(builder.write().read_text())["gate"]
    finally:
        store.close()


def test_a_flat_picture_s_pdq_not_taken_is_in_the_gate_s_record_and_report(tmp_path):
    """A flat picture's PDQ has no quality (it would match anything): the refusal's
    record says why there is no pdq (nor, since HASHING 6, a phash)."""
    gate = gate_for(tmp_path)
    try:
        status, answer = asyncio.run(ask(gate, png((128, 128, 128))))
    finally:
        gate.close()
    assert (status, answer["rule"]) == (406, "flagged at the door")
    [record] = gate_report(tmp_path)
    assert record["image"]["sha256"] == answer["sha256"]
    # nor a pHash, since HASHING 6 (one colour all over: tests/test_s33q2_phash_flat_picture.py)
    assert set(record["hashes"]) == set()
    assert sorted(record["image"]["hashes_not_taken"]) == ["pdq", "phash"]
    assert "quality" in record["image"]["hashes_not_taken"]["pdq"]
    assert "one colour" in record["image"]["hashes_not_taken"]["phash"]


def test_a_file_not_decoded_says_so_for_each_kind(tmp_path):
    """A body that is no picture (pict-rs sent its media type, the bytes are broken):
    neither perceptual hash is taken, and the record says the decode's error."""
    gate = gate_for(tmp_path)
    try:
        status, _ = asyncio.run(ask(gate, b"\x89PNG\r\n\x1a\n not really a picture"))
    finally:
        gate.close()
    assert status == 406
    [record] = gate_report(tmp_path)
    not_taken = record["image"]["hashes_not_taken"]
    assert set(not_taken) == {"phash", "pdq"}
    assert all(why.startswith("not decoded for it:") for why in not_taken.values()), not_taken


def test_hashes_not_taken_within_the_budget_are_said_so(tmp_path, monkeypatch):
    """The decode for the perceptual hashes outlasting gate.budget: the file gets
    gate.on_timeout, and its record says the kinds were not taken in time."""
    real, go = modbot.modes.gate.decoded_hashes, threading.Event()

    def slow_decoded_hashes(*args):
        go.wait(5)
        return real(*args)

    monkeypatch.setattr(modbot.modes.gate, "decoded_hashes", slow_decoded_hashes)
    gate = gate_for(tmp_path, budget="1s")
    try:
        status, answer = asyncio.run(ask(gate, png((10, 200, 30))))
        go.set()
        time.sleep(0.2)  # the decode's thread ends
    finally:
        gate.close()
    assert (status, answer["outcome"]) == (503, "refused_without_verdict")
    [record] = gate_report(tmp_path)
    assert record["image"]["hashes_not_taken"] == {
        "phash": "not taken within the 1s gate.budget",
        "pdq": "not taken within the 1s gate.budget",
    }


def test_a_file_hashed_whole_has_no_such_field(tmp_path):
    gate = gate_for(tmp_path)
    try:
        noisy = Image.effect_noise((64, 64), 80).convert("RGB")
        out = io.BytesIO()
        noisy.save(out, "PNG")
        status, _ = asyncio.run(ask(gate, out.getvalue()))
    finally:
        gate.close()
    assert status == 406
    [record] = gate_report(tmp_path)
    assert set(record["hashes"]) == {"phash", "pdq"}
    assert "hashes_not_taken" not in record["image"]
