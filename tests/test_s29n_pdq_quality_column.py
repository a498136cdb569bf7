"""A PDQ list as Meta's pdq-photo-hasher prints it: ``hash,quality,file`` a line.

Before, every such line was refused ("expected a PDQ hash, got 'hash,100,a.jpg'"), so
the admin had to strip the columns by hand and with them the quality: a hash of quality
below 50 (a flat image, which the reference discards) then matched like any other. Now
the quality is read: an entry below 50 is left out with a warning naming its line, the
others are loaded, and a quality that is not 0-100 is an error naming its line."""

from __future__ import annotations

from pathlib import Path

from modbot.config.checks import validate

GOOD, FLAT = "ab" * 32, "00" * 32
RULES = "hash_lists:\n  hotline: {kind: pdq, file: hotline.pdq}\n"


def test_pdq_photo_hasher_output_is_a_list_and_low_quality_is_left_out_said(
    tmp_path: Path,
) -> None:
    (tmp_path / "hotline.pdq").write_text(
        f"{GOOD.upper()},100,photos/a b.jpg\r\n{FLAT},20,photos/flat.png\r\n"
    )
    checked = validate(RULES, "rules.yaml", tmp_path)
    assert all(p.warning for p in checked.problems), checked.problems
    said = [p for p in checked.problems if p.file == "hotline.pdq"]
    assert [p.line for p in said] == [2]
    assert "quality 20" in said[0].message and "below 50" in said[0].message
    listed = checked.hash_lists["hotline"]
    assert len(listed) == 1
    assert listed.lookup({"pdq": GOOD}) == "pdq distance 0"
    assert listed.lookup({"pdq": FLAT}) is None


def test_a_quality_that_is_not_0_to_100_is_an_error_naming_the_line(tmp_path: Path) -> None:
    (tmp_path / "hotline.pdq").write_text(f"{GOOD},100\n{FLAT},high,x.jpg\n")
    checked = validate(RULES, "rules.yaml", tmp_path)
    errors = [p for p in checked.problems if not p.warning]
    assert [(p.file, p.line) for p in errors] == [("hotline.pdq", 2)], checked.problems
    assert "quality" in errors[0].message and "'high'" in errors[0].message
    assert "hotline" not in checked.hash_lists
