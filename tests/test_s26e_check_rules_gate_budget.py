"""`modbot check-rules` and `gate.budget`: the gate holds the budget under what pict-rs
(PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT) and Lemmy (pictrs.upload_timeout) wait for
an upload, given as `modbot gate --upload-timeout`, and warns at start of one within
10 s of it. check-rules cannot see that option: before, it passed a budget of 25 s
without a word, and the admin heard of it only when the gate started. Now it warns of a
budget that leaves less than that room under the default timeouts (both 30 s), naming
both timeouts and `modbot gate --upload-timeout`; the file stays valid (exit 0)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from modbot.modes.gate import UPLOAD_ROOM_S, UPLOAD_TIMEOUT_S


def check_rules(tmp_path: Path, gate: str) -> subprocess.CompletedProcess:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "classifier: {model: modbot-tiny, pretrained: null, allow_random_weights: true}\n"
        f"{gate}"
        "rules:\n"
        "  - name: csam at the door\n"
        "    if: {type: incoming, labels: [csam]}\n"
        "    then: {reject: true}\n"
    )
    return subprocess.run(
        [sys.executable, "-m", "modbot", "check-rules", str(rules)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_budget_too_close_to_the_default_upload_timeouts_is_warned_of(tmp_path):
    done = check_rules(tmp_path, "gate:\n  budget: 25s\n")
    assert done.returncode == 0, done.stdout + done.stderr
    (warning,) = [line for line in done.stdout.splitlines() if "gate.budget" in line]
    assert f"{tmp_path / 'rules.yaml'}:3: warning: gate.budget 25s" in warning
    assert "PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT" in warning
    assert "pictrs.upload_timeout" in warning
    assert "modbot gate --upload-timeout" in warning
    assert f"{UPLOAD_TIMEOUT_S - UPLOAD_ROOM_S:g}s or less" in warning
    assert "valid" in done.stdout.splitlines()[-1]


def test_a_budget_with_room_under_them_or_the_default_budget_is_not(tmp_path):
    for gate in (f"gate: {{budget: {UPLOAD_TIMEOUT_S - UPLOAD_ROOM_S:g}s}}\n", ""):
        done = check_rules(tmp_path, gate)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "gate.budget" not in done.stdout and "warning" not in done.stdout
