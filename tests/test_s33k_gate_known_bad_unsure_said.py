"""A file whose SHA-256 is on a known-bad list, at a gate whose allow-list is perceptual
(the shipped rules.yaml's `innocent` is a phash list) and that could not take the
file's perceptual hash (the bytes it may hold were all held: `busy`; or no time left):
the allow-list might spare it, so gate.on_timeout decides (the gate's documented
policy, unchanged here). But its why, in the log, the answer and the record, said only
"busy: ... the file was not kept", and the log "stored WITHOUT a check", as for a file
nothing was known of: an admin never learnt that a known abusive file was let through.
Now the why names the rule that matched and the allow-list that could not be checked."""

from __future__ import annotations

import asyncio
import hashlib
import logging

import httpx
from test_gate_decide import SECRET, ask, gate_for

MB = 1_000_000
KNOWN_BAD = b"\x89PNG\r\n\x1a\n known bad"


def test_a_known_bad_file_let_through_unsure_says_which_rule_matched(tmp_path, caplog):
    gate = gate_for(
        tmp_path,
        f"""
fetch: {{max_bytes: {MB}, max_bytes_held: {3 * MB}}}
gate: {{budget: 5s, on_timeout: allow, max_bytes: {MB}}}
hash_lists:
  known-bad: {{kind: sha256, file: bad.txt}}
  innocent: {{kind: phash, file: innocent.phash}}
exempt: {{hash_lists: [innocent]}}
rules:
  - name: known abusive file at the door
    if: {{type: incoming, hash_list: known-bad}}
    then: {{reject: true}}
""",
        {
            "bad.txt": hashlib.sha256(KNOWN_BAD).hexdigest() + "\n",
            "innocent.phash": "8000000000000001\n",
        },
    )
    caplog.set_level(logging.WARNING, logger="modbot.modes.gate")
    transport = httpx.ASGITransport(app=gate.app)

    async def uploads() -> tuple[int, dict]:
        # three uploads still being sent hold all the bytes the gate may hold
        held, release = asyncio.Semaphore(0), asyncio.Event()

        async def filler(n: int) -> int:
            async def body():
                yield bytes([n]) * (MB - 1)
                held.release()  # (asked for more: the gate holds the first part)
                await release.wait()
                yield b"\0"

            async with httpx.AsyncClient(transport=transport, base_url="http://gate") as c:
                answer = await c.post(
                    f"/validate/{SECRET}", content=body(), headers={"Content-Type": "image/png"}
                )
                return answer.status_code

        fillers = [asyncio.create_task(filler(n)) for n in range(3)]
        for _ in fillers:
            await held.acquire()
        try:
            return await ask(gate, KNOWN_BAD)
        finally:
            release.set()
            assert await asyncio.gather(*fillers) == [200] * 3

    try:
        status, answer = asyncio.run(uploads())
        gate.state.close()
        known = hashlib.sha256(KNOWN_BAD).hexdigest()
        (record,) = [r for _id, r in gate.store.gate_window(None) if r["image"]["sha256"] == known]
    finally:
        gate.close()
    # the policy: gate.on_timeout (allow) decides, as before
    assert (status, answer["outcome"]) == (200, "allowed_without_verdict")
    assert answer["why"].startswith("busy: ")
    # before: nothing said a known-bad list matched the file
    for said in (answer["why"], record["gate"]["why"], caplog.text):
        assert "rule 'known abusive file at the door'" in said, said
        assert "allow-list 'innocent' (a perceptual hash) could not be checked" in said, said
    assert record["hash_match"] == {"known-bad": "sha256"}
