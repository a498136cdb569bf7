"""`ban: {reason: true}` is the ban's default reason, "{{rule}}" (docs/rules.md), not the
removal's "Removed by modbot: {{rule}}"."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.config.checks import validate


@pytest.mark.parametrize(
    "given,reason",
    [
        ("true", "{{rule}}"),
        (None, "{{rule}}"),
        ("'Spam: {{rule}}'", "Spam: {{rule}}"),
        ("false", None),
    ],
)
def test_a_ban_reason_of_true_is_the_bans_default(tmp_path: Path, given, reason):
    (tmp_path / "bad.sha256").write_text("")
    ban = "{duration: permanent" + (f", reason: {given}" if given else "") + "}"
    text = (
        "hash_lists:\n  bad: {kind: sha256, file: bad.sha256}\n"
        f"rules:\n  - name: a\n    if: {{hash_list: bad}}\n    then: {{ban: {ban}}}\n"
    )
    result = validate(text, "rules.yaml", tmp_path)
    assert [p.message for p in result.problems if not p.warning] == []
    assert result.model is not None
    ban_action = result.model.rules[0].then.ban
    assert ban_action is not None and ban_action.reason == reason
