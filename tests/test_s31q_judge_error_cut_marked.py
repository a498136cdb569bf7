"""A classifier failing with a long error that is not a remote worker's (a local model's
RuntimeError, a bug's message holding a whole tensor): what the upload's answer, its
record and the bot's report say of it. Before, ``judge`` cut it at 300 characters with
no mark, so the admin could not tell a cut message from a whole one (a remote worker's
reason ends a cut with "…"). Now a cut ends with "…", within the same bound; a short
error is kept whole, unmarked."""

from __future__ import annotations

import asyncio

import pytest
from test_gate_decide import SECRET, Engine, ask, gate_for

from modbot.modes.gate import Gate

LONG = "the model failed: " + "0.1234, " * 100  # 818 characters


class Failing(Engine):
    """A local classifier that raises ``error`` on every file."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error

    async def classify(self, data: bytes):
        raise RuntimeError(self.error)


@pytest.mark.parametrize("error", [LONG, "out of memory"])
def test_a_long_classifier_error_is_cut_with_a_mark(tmp_path, error):
    made = gate_for(tmp_path, "gate: {on_timeout: allow}\n", {})
    made.close()
    gate = Gate(made.policy, made.store, Failing(error), secret=SECRET)
    try:
        status, answer = asyncio.run(ask(gate, b"\x89PNG\r\n\x1a\n a file"))
        gate.state.close()
        records = [r for _id, r in gate.store.gate_window(None)]
    finally:
        gate.close()
        made.store.close()
    assert (status, answer["outcome"]) == (200, "allowed_without_verdict"), answer
    said = f"RuntimeError({error!r})"
    for why in (answer["why"], records[0]["gate"]["why"]):
        assert why.startswith("classifier_error: RuntimeError("), why
        if error == LONG:
            # before: said[:300], ending mid-number with no mark
            assert why.endswith("…"), why
            detail = why.removeprefix("classifier_error: ")
            assert len(detail) == 300 and said.startswith(detail[:-1]), detail
        else:
            assert why == f"classifier_error: {said}", why
