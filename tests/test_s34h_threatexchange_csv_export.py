"""docs/hash-sharing.md: a `pdq` line "whose hash follows a tab, a comma or a semicolon
(a TSV or CSV export)" refuses the file, naming the line, as "those hashes would
otherwise be lost". python-threatexchange's own CSV export (`threatexchange dataset -c
'Sample Data' -P --csv`, its docstring's example) writes
``pdq,HASH,Sample Data,POSITIVE_CLASS,tags``: a space later in the line (the
collaboration's name, the tags) made the part before it the "signal type", and the line
was skipped as of a type modbot does not know: the list loaded without any of its
hashes, a warning aside. Such a line is now refused as a CSV one, and the advice fits an
export of more columns than two."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.config.checks import validate

PDQ = "ab" * 32


@pytest.mark.parametrize(
    ("line", "said"),
    [
        (f"pdq,{PDQ},Sample Data,POSITIVE_CLASS,", "a comma"),
        (f"pdq,{PDQ},industry,POSITIVE_CLASS,csam nsfw", "a comma"),
        (f"pdq\t{PDQ}\tSample Data\tPOSITIVE_CLASS\t", "a tab"),
    ],
)
def test_a_csv_export_with_spaces_in_its_columns_is_refused(
    tmp_path: Path, line: str, said: str
) -> None:
    (tmp_path / "industry.te").write_text(
        f"signal_type,signal_str,collab,category,tags\r\n{line}\r\n", newline=""
    )
    text = "hash_lists:\n  industry: {kind: pdq, file: industry.te, format: threatexchange}\n"
    checked = validate(text, "rules.yaml", tmp_path)
    errors = [p for p in checked.problems if not p.warning]
    assert [(p.line, p.file) for p in errors] == [(2, "industry.te")], checked.problems
    assert said in errors[0].message and "one space" in errors[0].message
    assert "--print-signals-only" in errors[0].message, errors[0].message
    assert "industry" not in checked.hash_lists
