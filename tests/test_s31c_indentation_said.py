"""A rules file indented wrong said only YAML's parser words ("expected <block end>, but
found '<block mapping start>'") or "unknown key 'then' in rule 'r': if" with a list of
conditions: now check-rules says what is wrong with the line and what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RULE = "rules:\n  - name: r\n    if:\n      labels: [csam]\n"


def _check(tmp_path: Path, text: str) -> tuple[int, list[str]]:
    (tmp_path / "rules.yaml").write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "check-rules", "rules.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout.splitlines()


INDENTED = (
    "; this line is indented differently from the lines above it: the keys of one "
    "mapping, and the dashes of one list, start in the same column"
)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (RULE + "   then:\n      remove: true\n", 5),  # one space short
        (RULE + "     then:\n      remove: true\n", 5),  # one space over
        (RULE + "    then: {remove: true}\n - name: r2\n    if: {type: any}\n", 6),
    ],
)
def test_a_line_out_of_column_is_said_as_such(tmp_path: Path, text: str, line: int) -> None:
    rc, out = _check(tmp_path, text)
    assert rc == 1
    assert out[0].startswith(f"rules.yaml:{line}: YAML syntax error: ")
    assert out[0].endswith(INDENTED)


def test_then_indented_under_if_says_where_it_belongs(tmp_path: Path) -> None:
    rc, out = _check(tmp_path, RULE + "      then:\n        remove: true\n")
    assert rc == 1
    assert (
        "rules.yaml:5: unknown key 'then' in rule 'r': if: it belongs one level up, "
        "indented as `if:` is" in out
    )


def test_a_section_indented_into_another_says_where_it_belongs(tmp_path: Path) -> None:
    rc, out = _check(
        tmp_path,
        "fetch:\n  max_bytes: 25MB\n  lemmy:\n    timeout: 10s\n"
        + RULE
        + "    then: {remove: true}\n",
    )
    assert rc == 1
    assert out[0] == (
        "rules.yaml:3: unknown key 'lemmy' in fetch: it belongs one level up, indented as "
        "`fetch:` is"
    )


def test_a_colon_in_unquoted_text_says_to_quote_it(tmp_path: Path) -> None:
    rc, out = _check(tmp_path, RULE + "    then:\n      report: Flagged: please look\n")
    assert rc == 1
    assert out[0] == (
        "rules.yaml:6: YAML syntax error: mapping values are not allowed here; text with "
        '": " in it must be in quotes: "..."'
    )
