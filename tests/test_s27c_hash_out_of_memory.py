"""Out of memory inside a hash kind's own code (Pillow or numpy raising MemoryError
while PDQ is taken) says nothing of the file: it is not remembered as "not taken" and
the file is downloaded and tried again when next seen. Before, compute_all turned it
into that kind's error like any other, and the known-files cache (since aceb9fa) kept
it under the hashing code's version: the file's PDQ was never tried again, and a look-
alike of a listed image passed for as long as modbot and its libraries stayed the
same. The gate, asked about such a file, still answers by its other hashes and its
verdict, and records why the PDQ is missing."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from datetime import timedelta

import httpx
import pytest
from support.cli import bot_environment
from support.policies import _policy_head, _remote

import modbot.pdq
from fakelemmy.state import now
from modbot.cli import main
from modbot.config.policy import load_policy
from modbot.hashes import compute_all, hashes_of
from modbot.modes.gate import Gate
from modbot.store import Store

RULES = """
  look-alikes-pdq: {{kind: pdq, file: pdq.txt}}
fetch: {{allow_hosts: ["{remote}"]}}
lemmy: {{requests_per_minute: 60000, lookback: 6h, timeout: 10s}}
rules:
  - name: look-alike
    if: {{hash_list: look-alikes-pdq}}
    then: {{report: "looks like a listed image"}}
"""


@pytest.fixture
def out_of_memory_on(monkeypatch):
    """PDQ's code runs out of memory on the files put in the returned set."""
    failing: set[bytes] = set()
    real = modbot.pdq.pdq_hash

    def pdq_hash(image):
        if image in failing:
            raise MemoryError("cannot allocate 512 MiB")
        return real(image)

    monkeypatch.setattr(modbot.pdq, "pdq_hash", pdq_hash)
    return failing


def test_compute_all_lets_memory_errors_through(out_of_memory_on, photos):
    out_of_memory_on.add(photos["astronaut"])
    with pytest.raises(MemoryError):
        compute_all(photos["astronaut"], ["sha256", "pdq"])
    # where nothing is remembered, the kind is left out as before
    assert set(hashes_of(photos["astronaut"], ["sha256", "pdq"])) == {"sha256"}


def image_requests(lemmy, since: int) -> list:
    return [
        r
        for r in lemmy.requests[since:]
        if r.server == "remote"
        or (r.server == "lemmy" and "/pictrs/image/" in r.path)
        or (r.server == "pictrs" and "/image/" in r.path)
    ]


def sweep(lemmy, *args: str) -> set[str]:
    """``modbot sweep --all`` (``args`` added): the names of the images it downloaded."""
    mark = len(lemmy.requests)
    assert main(["sweep", "--all", *args]) == 0
    return {r.path.rsplit("/", 1)[-1] for r in image_requests(lemmy, mark)}


def test_a_sweep_tries_the_file_again(
    out_of_memory_on, fake_lemmy, tiny_checkpoint, photos, tmp_path, monkeypatch
):
    (tmp_path / "pdq.txt").write_text(hashes_of(photos["coffee"], ["pdq"])["pdq"] + "\n")
    rules = tmp_path / "rules.yaml"
    head = _policy_head(tiny_checkpoint, tmp_path, ())
    rules.write_text(head + RULES.format(remote=_remote(fake_lemmy)))
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, fake_lemmy, tmp_path / "state.sqlite3", rules)
    failing = photos["astronaut"]
    out_of_memory_on.add(failing)
    cast = fake_lemmy.cast
    link = fake_lemmy.add_remote_file("linked.png", failing)
    start = now() - timedelta(days=2)
    for i, url in enumerate([link, fake_lemmy.add_upload(cast.alice, photos["chelsea"]).url]):
        fake_lemmy.add_post(
            cast.pics, cast.bob, name=f"post {i}", url=url, published=start + timedelta(minutes=i)
        )
    assert "linked.png" in sweep(fake_lemmy, "--dry-run")
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        records = [json.loads(r) for (r,) in db.execute("SELECT record FROM decisions")]
    said = [r["image"].get("hashes_not_taken", {}).get("pdq") for r in records]
    assert any(s and "MemoryError" in s for s in said), said  # the record says why

    assert sweep(fake_lemmy) == {"linked.png"}  # before: nothing, its PDQ never tried again


SECRET = "gate-secret-0123456789abcdef"


class _Verdict:
    def to_dict(self) -> dict:
        return {"labels": [], "scores": {"nsfw": -0.5}, "unreadable": None, "concept_version": "v1"}


class Engine:
    concept_version = "v1"
    random_weights = True

    async def ready(self) -> str:
        return "v1"

    async def classify(self, data: bytes) -> _Verdict:
        return _Verdict()

    def close(self) -> None:
        pass


def test_the_gate_answers_and_records_why(out_of_memory_on, photos, tmp_path):
    (tmp_path / "pdq.txt").write_text(hashes_of(photos["coffee"], ["pdq"])["pdq"] + "\n")
    (tmp_path / "rules.yaml").write_text("""
classifier: {model: modbot-tiny, pretrained: null, device: cpu, allow_random_weights: true}
hash_lists:
  look-alikes-pdq: {kind: pdq, file: pdq.txt}
rules:
  - name: look-alike
    if: {type: incoming, hash_list: look-alikes-pdq}
    then: {reject: true}
""")
    body = photos["astronaut"]
    out_of_memory_on.add(body)
    store = Store(tmp_path / "state.sqlite3")
    gate = Gate(load_policy(tmp_path / "rules.yaml"), store, Engine(), secret=SECRET)

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=gate.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
            return await client.post(
                f"/validate/{SECRET}", content=body, headers={"Content-Type": "image/jpeg"}
            )

    try:
        answer = asyncio.run(ask())
    finally:
        gate.close()
    assert answer.status_code == 200, answer.text  # before: 500, nothing recorded
    assert answer.json()["outcome"] == "accepted"
    sha256 = hashlib.sha256(body).hexdigest()
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        (record,) = [json.loads(r) for (r,) in db.execute("SELECT record FROM decisions")]
    assert record["image"]["sha256"] == sha256
    assert "MemoryError" in record["image"]["hashes_not_taken"]["pdq"], record
