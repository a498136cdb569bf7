"""The upload gate answers within its budget: the read of the files modbot purged is
waited for only within what is left of it."""

from __future__ import annotations

import asyncio
import time

from test_g21_gate_memory import gate_for
from test_gate_decide import ask

RULES = """
classifier: {model: modbot-tiny, pretrained: null, device: cpu, allow_random_weights: true}
gate: {budget: 0.3s, on_timeout: allow}
"""


def test_a_slow_read_of_the_purged_files_waits_within_the_budget(tmp_path):
    """The list of files modbot purged is read again every 2 s; the answer waited for
    that read up to 2 s whatever was left of gate.budget (past pict-rs' 30 s with a
    budget near it, the upload failed whatever gate.on_timeout said). Now at most what
    is left of the budget; then the list in use answers, and the read goes on."""
    gate = gate_for(tmp_path, RULES, {})

    def slow_refresh() -> None:
        time.sleep(1.5)

    gate.state._refresh_purged = slow_refresh  # type: ignore[method-assign]
    gate.state._purged_at = time.monotonic() - 10  # due
    try:
        start = time.monotonic()
        status, _ = asyncio.run(ask(gate, b"\x89PNG\r\n\x1a\n a file"))
        took = time.monotonic() - start
        assert status == 200  # its verdict, or gate.on_timeout's allow
        assert took < 0.3 + 0.6, took  # before: 1.5 s, the read's whole time
    finally:
        gate.close()
