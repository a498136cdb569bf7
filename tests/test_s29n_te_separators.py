"""A python-threatexchange local_file whose PDQ lines are tab- or comma-separated (a TSV
or CSV export): python-threatexchange reads ``<signal_type> <signal>`` with one space, so
such a line is not a line of it. Before, modbot warned "no signal after the signal type"
and loaded the list without those hashes; now each such line is an error naming the file,
the line and the separator, and nothing is loaded half."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.config.checks import validate

PDQ = "ab" * 32


@pytest.mark.parametrize(("sep", "said"), [("\t", "a tab"), (",", "a comma")])
def test_a_pdq_line_with_another_separator_is_an_error_naming_the_line(
    tmp_path: Path, sep: str, said: str
) -> None:
    (tmp_path / "industry.te").write_text(f"pdq {'cd' * 32}\npdq{sep}{PDQ}\n")
    text = "hash_lists:\n  industry: {kind: pdq, file: industry.te, format: threatexchange}\n"
    checked = validate(text, "rules.yaml", tmp_path)
    errors = [p for p in checked.problems if not p.warning]
    assert [(p.line, p.file) for p in errors] == [(2, "industry.te")], checked.problems
    assert said in errors[0].message and "one space" in errors[0].message
    assert "industry" not in checked.hash_lists


def test_other_signal_types_so_separated_are_still_only_skipped(tmp_path: Path) -> None:
    (tmp_path / "industry.te").write_text(f"pdq {PDQ}\nvideo_md5\t{'0' * 32}\n")
    text = "hash_lists:\n  industry: {kind: pdq, file: industry.te, format: threatexchange}\n"
    checked = validate(text, "rules.yaml", tmp_path)
    assert all(p.warning for p in checked.problems), checked.problems
    assert len(checked.hash_lists["industry"]) == 1
