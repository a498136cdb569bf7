"""A decode for a perceptual hash waits for room in the decode budget only within the
gate's budget. Before, ``DecodeBudget.reserve`` had no time limit: a file whose hash
decode could not get its memory (the classifier's decodes holding it) kept one of the
gate's ``HASH_DECODES`` turns long after its answer went, and kept its place at the head
of the budget's line, so the uploads after it, small ones that fitted, fell to
``gate.on_timeout`` without their hashes checked."""

from __future__ import annotations

import asyncio

from test_gate_decide import Local, ask, gate_for, png

import modbot.rules
from classifier.budget import DecodeBudget, MemoryNotFree
from modbot.store import Store

RULES = """
hash_lists:
  look-alikes: {kind: phash, file: phash.txt}
gate: {budget: 2s, on_timeout: allow}
rules:
  - name: look-alike
    if: {type: incoming, hash_list: look-alikes}
    then: {reject: true}
"""


def test_files_waiting_for_memory_past_the_budget_give_their_turns_to_the_next(tmp_path):
    small = png(200, 200, 10)  # about 6 MB to decode
    larges = [png(2000, 2000, 20), png(2000, 2000, 30)]  # about 53 MB each
    gate = gate_for(
        tmp_path, RULES, {"phash.txt": modbot.rules.hashes_of(small, ["phash"])["phash"] + "\n"}
    )
    gate.engine = engine = Local(decode_memory=100_000_000)
    # the classifier's decodes (regions waiting for the model) hold 80 MB for a while
    busy = engine.decode_budget.charge(80_000_000)

    async def scenario() -> list[tuple[int, dict]]:
        # two large files take both hash turns and wait for memory; their answers go
        answers = list(await asyncio.gather(*(ask(gate, large) for large in larges)))
        # a small file that fits in what is free, known bad by its pHash
        answers.append(await ask(gate, small))
        busy.release()  # the classifier's decodes end
        return answers

    try:
        (s1, a1), (s2, a2), (s3, a3) = asyncio.run(scenario())
    finally:
        busy.release()  # (a failed assertion in the scenario)
        gate.close()
    assert (s1, a1["why"].split(":")[0]) == (200, "timeout")
    assert (s2, a2["why"].split(":")[0]) == (200, "timeout")
    # before: 200, "timeout" (no hash turn free within its budget), the known file let in
    assert (s3, a3["rule"]) == (406, "look-alike"), a3
    assert engine.decode_budget.in_use == 0
    store = Store(tmp_path / "state.sqlite3")
    try:
        records = store.decisions(run_id=gate.run_id)
    finally:
        store.close()
    assert [r["image"].get("hashes_not_taken") for r in records] == [
        {"phash": "not taken within the 2s gate.budget"},
        {"phash": "not taken within the 2s gate.budget"},
        None,
    ]


def test_a_reservation_past_its_deadline_leaves_the_line():
    """What the gate's fix stands on: a wait with a deadline ends at it, raising
    ``MemoryNotFree``, and leaves the line, so the reservation behind it is served."""
    budget = DecodeBudget(100)
    held = budget.reserve(80)
    # nothing waits forever: the deadline (time.monotonic()) has passed already
    try:
        budget.reserve(50, deadline=0.0)
    except MemoryNotFree as exc:
        assert "decode_memory" in str(exc)
    else:
        raise AssertionError("a reservation past its deadline was granted")
    assert budget.reserve(20).nbytes == 20  # not behind the one that gave up
    held.release()
    assert budget.in_use == 20
