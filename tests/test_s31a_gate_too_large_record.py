"""The record of a file over ``gate.max_bytes`` (answered 413). The gate stops reading
at the cap, so it has no hash of the file: a hash of the part read would match no list
and name no file, and recorded as the file's it would mislead whoever looks for the
file by its hash. Before, the record had ``sha256: null`` and nothing saying why, and
its ``size`` was the bytes read when the gate stopped (pict-rs streams the file
chunked, with no length): a 300 MB file looked like one of 2,000,001 bytes. Now the
record says which hashes were not taken and why (``image.hashes_not_taken``, as for a
perceptual hash not taken), how many bytes were read, and the size the file claimed
(its Content-Length) when it claimed one, else that its size is not known."""

from __future__ import annotations

import asyncio
import hashlib

import httpx
from test_gate_decide import SECRET, gate_for

CAP = 200_000


def chunks(total: int):
    """A body sent as pict-rs sends it: chunked, no Content-Length."""

    async def body():
        sent = 0
        while sent < total:
            piece = min(64_000, total - sent)
            sent += piece
            yield b"\0" * piece

    return body()


async def post(gate, content) -> httpx.Response:
    transport = httpx.ASGITransport(app=gate.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
        return await client.post(
            f"/validate/{SECRET}", content=content, headers={"Content-Type": "image/jpeg"}
        )


def test_a_413_record_says_why_it_has_no_hash_and_what_size_is_known(tmp_path):
    gate = gate_for(
        tmp_path,
        f"""
gate: {{max_bytes: {CAP}}}
hash_lists:
  known-bad: {{kind: md5, file: bad.txt}}
rules:
  - name: known bad
    if: {{type: incoming, hash_list: known-bad}}
    then: {{reject: true}}
""",
        {"bad.txt": hashlib.md5(b"x").hexdigest() + "\n"},
    )
    try:
        streamed = asyncio.run(post(gate, chunks(10 * CAP)))  # pict-rs' way
        declared = asyncio.run(post(gate, b"\0" * (3 * CAP)))  # with a Content-Length
        assert streamed.status_code == declared.status_code == 413
        gate.state.close()  # the records written
        records = [r for _id, r in gate.store.gate_window(None)]
    finally:
        gate.close()
    assert len(records) == 2
    chunked, claimed = records
    for record in records:
        assert record["image"]["sha256"] is None
        not_taken = record["image"]["hashes_not_taken"]
        # before: no hashes_not_taken; the record did not say why it has no hash
        assert set(not_taken) == {"sha256", "md5"}, not_taken
        assert "stopped reading at gate.max_bytes" in not_taken["sha256"]
        assert "part read is not the file's" in not_taken["sha256"]
    # before: size 256000, the bytes read, taken for the file's size
    assert chunked["gate"]["size"] is None
    assert CAP < chunked["gate"]["size_read"] < 10 * CAP
    why = chunked["actions"][0]["detail"]
    assert "its size is not known" in why and "pict-rs did not say it" in why, why
    assert f"{chunked['gate']['size_read']:,} bytes read" in why, why
    # a Content-Length over the cap: refused before a byte is read, the size it claimed
    assert claimed["gate"]["size"] == 3 * CAP and claimed["gate"]["size_read"] == 0
    why = claimed["actions"][0]["detail"]
    assert f"its Content-Length says {3 * CAP:,} bytes" in why, why
    # and the report shows what is known of the size (review R: the bytes read, which
    # the report showed as the size before 824d23f, were left out of it after)
    from modbot.modes.report_html import gate_row_html

    assert f"over {chunked['gate']['size_read']} bytes (read when" in gate_row_html(chunked)
    assert f"{3 * CAP} bytes" in gate_row_html(claimed)
