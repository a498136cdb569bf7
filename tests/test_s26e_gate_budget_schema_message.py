"""A gate.budget not under pict-rs' default validation timeout is not valid. Before, the
message said "10s or less leaves Lemmy's own timeouts room", while `modbot gate` warns
only past 20 s (its UPLOAD_ROOM_S under the 30 s), and named neither Lemmy's
pictrs.upload_timeout nor `modbot gate --upload-timeout`. Now it gives the gate's
numbers and both timeouts, through `modbot check-rules`."""

from __future__ import annotations

import subprocess
import sys

from modbot.modes.gate import UPLOAD_ROOM_S, UPLOAD_TIMEOUT_S


def test_a_budget_past_the_default_timeouts_says_the_gate_s_numbers_and_both_timeouts(
    tmp_path,
):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "classifier: {model: modbot-tiny, pretrained: null, allow_random_weights: true}\n"
        f"gate: {{budget: {UPLOAD_TIMEOUT_S:g}s}}\n"
        "rules: []\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "check-rules", str(rules)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    (problem,) = [line for line in done.stdout.splitlines() if "gate.budget:" in line]
    assert problem.startswith(f"{rules}:2: ")
    assert f"less than {UPLOAD_TIMEOUT_S:g}s" in problem
    assert "PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT" in problem
    assert "pictrs.upload_timeout" in problem
    assert f"{UPLOAD_TIMEOUT_S - UPLOAD_ROOM_S:g}s or less" in problem
    assert "modbot gate --upload-timeout" in problem
