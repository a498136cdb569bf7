"""A hash on both an allow-list and a list a rule acts by is spared by the allow-list,
silently: check-rules (and so every run's start) now warns, naming the line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from modbot.config.checks import validate

BAD = "ab" * 32
OTHER = "cd" * 32
PHOTO = "f0" * 32


def _rules(tmp_path: Path, kind: str, bad: list[str], ok: list[str]) -> str:
    (tmp_path / "bad.txt").write_text("".join(f"{h}\n" for h in bad))
    (tmp_path / "ok.txt").write_text("".join(f"{h}\n" for h in ok))
    return (
        "hash_lists:\n"
        f"  bad: {{kind: {kind}, file: bad.txt}}\n"
        f"  ok: {{kind: {kind}, file: ok.txt}}\n"
        "exempt:\n  hash_lists: [ok]\n"
        "rules:\n  - name: known bad\n    if: {hash_list: bad}\n    then: {remove: true}\n"
    )


def _said(tmp_path: Path, text: str) -> list[str]:
    checked = validate(text, str(tmp_path / "rules.yaml"), tmp_path)
    assert not checked.errors
    return [
        f"{p.file}:{p.line}: {p.message}" for p in checked.problems if "allow-list" in p.message
    ]


def test_a_sha256_on_both_lists_is_warned_with_its_line(tmp_path: Path) -> None:
    said = _said(tmp_path, _rules(tmp_path, "sha256", [OTHER, BAD, BAD], [BAD]))
    assert said == [
        f"{tmp_path}/bad.txt:2: hash list 'bad': this hash is also on the allow-list 'ok' "
        "(exempt.hash_lists), which wins: no rule acts on those images; take it off one "
        "of the two lists"
    ]


def test_pdq_lists_sharing_two_hashes_say_how_many(tmp_path: Path) -> None:
    said = _said(tmp_path, _rules(tmp_path, "pdq", [OTHER, PHOTO, BAD], [BAD, PHOTO]))
    assert len(said) == 1
    assert said[0].startswith(f"{tmp_path}/bad.txt:2: hash list 'bad': this hash (and 1 more)")


def test_lists_that_share_nothing_or_are_of_other_kinds_are_not_warned(tmp_path: Path) -> None:
    assert _said(tmp_path, _rules(tmp_path, "sha256", [OTHER], [BAD])) == []
    # near but not equal: the allow-list spares it as well, but equal is what is listed twice
    near = BAD[:-1] + "a"
    assert _said(tmp_path, _rules(tmp_path, "pdq", [near], [BAD])) == []


def test_check_rules_prints_the_warning_and_exits_0(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(_rules(tmp_path, "sha256", [BAD], [BAD]))
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "check-rules", str(tmp_path / "rules.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    assert "is also on the allow-list 'ok'" in out
    assert "bad.txt:1" in out
