"""A burst of uploads faster than the classifier: before, the gate handed every file to
the classifier at once and let each run on past its answer (for the verdict cache), so
after the burst the classifier worked through files whose answers had long gone, and
every upload that came next waited behind them and got ``gate.on_timeout`` too, for as
long as that backlog lasted (a fail-open, or a refused upload, per file). Now at most
the classifier's own concurrency is handed to it at once (``classifier.remote.
concurrency``; twice ``classifier.batch_size`` in the gate's process); a file still
waiting for its turn when its budget ends is answered without being classified, so the
next upload after the burst gets a verdict."""

from __future__ import annotations

import asyncio
import time

from test_gate_decide import SECRET, Engine, _Verdict, ask

from modbot.config.policy import load_policy
from modbot.modes.gate import Gate
from modbot.store import Store

PER_FILE_S = 0.2
AT_ONCE = 2  # what the classifier below does at once (classifier.batch_size: 1, twice)


class Slow(Engine):
    """A classifier that takes PER_FILE_S a file, AT_ONCE files at a time."""

    def __init__(self) -> None:
        super().__init__()
        self.turns = asyncio.Semaphore(AT_ONCE)

    async def classify(self, data: bytes) -> _Verdict:
        async with self.turns:
            self.given += 1
            await asyncio.sleep(PER_FILE_S)
            return _Verdict()


def test_the_upload_after_a_burst_is_not_stuck_behind_the_bursts_leftovers(tmp_path):
    (tmp_path / "rules.yaml").write_text("""
classifier: {model: modbot-tiny, pretrained: null, device: cpu, allow_random_weights: true,
             batch_size: 1}
gate: {budget: 1s, on_timeout: allow}
""")
    policy = load_policy(tmp_path / "rules.yaml")
    gate = Gate(policy, Store(tmp_path / "state.sqlite3"), Engine(), secret=SECRET)

    async def scenario() -> tuple[list[str], float, tuple[int, dict]]:
        gate.engine = Slow()  # (its semaphore on this loop)
        burst = [b"\x89PNG\r\n\x1a\n burst %d" % n for n in range(40)]
        answers = await asyncio.gather(*(ask(gate, body) for body in burst))
        started = time.monotonic()
        after = await ask(gate, b"\x89PNG\r\n\x1a\n the next upload")
        return [a["outcome"] for _, a in answers], time.monotonic() - started, after

    try:
        outcomes, took, (status, answer) = asyncio.run(scenario())
    finally:
        gate.close()
    # the burst itself is more than the classifier can do in the budget
    assert outcomes.count("allowed_without_verdict") >= 30, outcomes
    # the next upload: a verdict (before: stuck behind ~30 files of the burst, 0.1 s
    # each, whose answers had gone: `allowed_without_verdict`, stored unchecked)
    assert (status, answer["outcome"]) == (200, "accepted"), answer
    assert took < 0.75, took
