"""A local MD5 or SHA-1 list named in `exempt.hash_lists` spares every file with a
listed digest, and two different files with one MD5 are cheap to make: a harmless file
put on the allow-list spares its abusive twin. Feeds no longer take such innocent entries
(f3a0f16); a local list, the admin's own, still does, and check-rules (and `run` at
start) now say so, with what to use instead. A SHA-256 list is said nothing of."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.config.checks import validate


@pytest.mark.parametrize("kind, digits", [("md5", 32), ("sha1", 40)])
def test_an_md5_or_sha1_allow_list_is_warned(tmp_path: Path, kind: str, digits: int) -> None:
    (tmp_path / "checked.txt").write_text("0" * digits + "\n")
    text = (
        f"hash_lists:\n  checked: {{kind: {kind}, file: checked.txt}}\n"
        "exempt:\n  hash_lists: [checked]\n"
    )
    checked = validate(text, "rules.yaml", tmp_path)
    said = [p for p in checked.problems if "exempt.hash_lists" in p.message]
    assert len(said) == 1 and said[0].warning, [p.message for p in checked.problems]
    assert said[0].message.startswith(
        f"exempt.hash_lists: list 'checked' is of {kind} digests, and two different files"
    )
    assert "abusive twin" in said[0].message and "sha256" in said[0].message
    assert said[0].line == 4


def test_a_sha256_allow_list_is_not(tmp_path: Path) -> None:
    (tmp_path / "checked.txt").write_text("0" * 64 + "\n")
    text = "hash_lists:\n  checked: {kind: sha256, file: checked.txt}\nexempt:\n  hash_lists: [checked]\n"
    checked = validate(text, "rules.yaml", tmp_path)
    assert [p.message for p in checked.problems if "exempt.hash_lists" in p.message] == []
