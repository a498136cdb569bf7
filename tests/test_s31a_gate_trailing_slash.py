"""pict-rs configured with the gate's URL and a trailing slash
(``PICTRS__MEDIA__EXTERNAL_VALIDATION=http://gate:8096/validate/SECRET/``). Before, the
gate's router answered 307 to the same path without the slash: pict-rs streams the file
(its body cannot be sent again), so it took the 307 as a refusal and failed every
upload with "Failed external validation", while the gate counted, logged and recorded
nothing (its /healthz said ok, 0 requests) and the redirect's Location carried the
secret. Now the path with a trailing slash is the gate's too: decided as without."""

from __future__ import annotations

import asyncio
import hashlib

import httpx
import pytest
from test_gate_decide import SECRET, gate_for

BAD = b"\x89PNG\r\n\x1a\n known bad"


async def chunks(data: bytes):
    yield data  # a body of unknown length, as pict-rs streams the stored file


async def post(gate, path: str, data: bytes) -> httpx.Response:
    transport = httpx.ASGITransport(app=gate.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
        return await client.post(path, content=chunks(data), headers={"Content-Type": "image/png"})


@pytest.mark.parametrize("path", [f"/validate/{SECRET}/", f"/api/v1/scan/{SECRET}/"])
def test_the_validation_url_with_a_trailing_slash_is_the_gates(tmp_path, path):
    gate = gate_for(
        tmp_path,
        """
hash_lists:
  known-bad: {kind: sha256, file: bad.txt}
rules:
  - name: known bad
    if: {type: incoming, hash_list: known-bad}
    then: {reject: true}
""",
        {"bad.txt": hashlib.sha256(BAD).hexdigest() + "\n"},
    )
    try:
        refused = asyncio.run(post(gate, path, BAD))
        stored = asyncio.run(post(gate, path, b"\x89PNG\r\n\x1a\n a cat"))
        gate.state.close()
        records = [r for _id, r in gate.store.gate_window(None)]
    finally:
        gate.close()
    # before: 307 (Location: the path without the slash, the secret in it) for both
    assert (refused.status_code, refused.json()["rule"]) == (406, "known bad"), refused.text
    assert (stored.status_code, stored.json()["outcome"]) == (200, "accepted"), stored.text
    assert gate.counters["requests"] == 2
    assert [r["gate"]["outcome"] for r in records] == ["rejected", "accepted"]


def test_a_wrong_secret_with_a_trailing_slash_is_still_refused(tmp_path):
    gate = gate_for(tmp_path, "", {})
    try:
        answer = asyncio.run(post(gate, "/validate/wrong-secret-0123456789/", BAD))
    finally:
        gate.close()
    assert answer.status_code == 403
    assert gate.counters["forbidden"] == 1
