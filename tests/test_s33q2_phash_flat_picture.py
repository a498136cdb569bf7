"""Since HASHING 4 (6a7d946) the pHash rounds its DCT before the median, so every plain
one-colour picture (white, red, grey, any size) hashed to ``8000000000000000`` and black
to ``0000000000000000``, one bit away. One list or feed entry for a blank image (what
``modbot confirm --image`` publishes of one) then made the default rules refuse every
plain-colour upload at the gate, and remove and purge every such post. A flat picture
has no pHash now, as a PDQ below quality 50 has none: the kind is not taken, and says
why (``hashes_not_taken``)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from modbot.config.policy import load_policy
from modbot.errors import ImageHashError
from modbot.hashes import compute_all, hashes_of, perceptual_hash
from modbot.modes.gate import Gate
from modbot.store import Store

SECRET = "gate-secret-0123456789abcdef"
RULES = """
classifier: {model: modbot-tiny, pretrained: null, device: cpu, allow_random_weights: true}
hash_lists:
  blank-bad: {kind: phash, file: phash.txt}
gate: {budget: 5s, on_timeout: reject}
rules:
  - name: listed look-alike
    if: {type: incoming, hash_list: blank-bad}
    then: {reject: true}
"""


class _Verdict:
    def to_dict(self) -> dict:
        return {"labels": [], "scores": {}, "unreadable": None, "concept_version": "v1"}


class Engine:
    """A remote-like classifier that flags nothing."""

    concept_version = "v1"
    random_weights = True

    async def ready(self) -> str:
        return "ready"

    async def classify(self, data: bytes) -> _Verdict:
        return _Verdict()

    def close(self) -> None:
        pass


def png(color, size=(64, 64), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def gate_for(tmp_path: Path, listed: str) -> Gate:
    (tmp_path / "phash.txt").write_text(listed + "\n")
    (tmp_path / "rules.yaml").write_text(RULES)
    policy = load_policy(tmp_path / "rules.yaml")
    return Gate(policy, Store(tmp_path / "state.sqlite3"), Engine(), secret=SECRET)


async def ask(gate: Gate, body: bytes) -> tuple[int, dict]:
    transport = httpx.ASGITransport(app=gate.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
        answer = await client.post(
            f"/validate/{SECRET}", content=body, headers={"Content-Type": "image/png"}
        )
        return answer.status_code, answer.json()


@pytest.mark.parametrize("listed", ["8000000000000000", "0000000000000000"])
def test_plain_colour_uploads_are_not_refused_by_a_blank_image_s_list_entry(tmp_path, listed):
    gate = gate_for(tmp_path, listed)
    try:
        answers = [
            asyncio.run(ask(gate, body))
            for body in (
                png((255, 255, 255)),
                png((255, 0, 0), (640, 480)),
                png((0, 0, 0), (300, 200)),
                png(128, (17, 900), "L"),
            )
        ]
    finally:
        gate.close()
    assert [status for status, _ in answers] == [200, 200, 200, 200], answers
    assert all(answer.get("rule") is None for _, answer in answers), answers


def test_a_flat_picture_s_phash_is_not_taken_and_says_why():
    for body in (png((255, 255, 255)), png((0, 0, 0), (1, 1)), png((10, 200, 30), (900, 20))):
        with pytest.raises(ImageHashError, match="one colour"):
            perceptual_hash(body)
        [why] = compute_all(body, ["phash"]).values()
        assert isinstance(why, ImageHashError)
        assert hashes_of(body, ["phash"]) == {}


def test_a_picture_with_any_detail_still_has_its_phash():
    image = Image.new("L", (64, 64), 255)
    image.paste(0, (0, 0, 32, 64))  # half black, half white
    out = io.BytesIO()
    image.save(out, "PNG")
    assert perceptual_hash(out.getvalue()) not in ("8000000000000000", "0000000000000000")
