"""check-rules warns about the lines a hash list leaves out: the first ones, then how
many more, so a file of thousands says so in a screenful."""

from __future__ import annotations

from pathlib import Path

from modbot.config.checks import validate


def test_check_rules_says_how_many_more_lines_a_list_left_out(tmp_path: Path) -> None:
    (tmp_path / "industry.te").write_text(
        "".join(f"video_md5 {i:032x}\n" for i in range(50)) + f"pdq {'ab' * 32}\n"
    )
    text = "hash_lists:\n  industry: {kind: pdq, file: industry.te, format: threatexchange}\n"
    checked = validate(text, "rules.yaml", tmp_path)
    said = [p.message for p in checked.problems if "left out" in p.message]
    assert len(said) == 21
    assert all(p.warning for p in checked.problems)
    assert said[0].startswith("hash list 'industry': video_md5 left out: an MD5 of a video")
    assert said[-1].endswith("... and 30 more lines like these")


def test_list_lines_are_numbered_as_the_file_splits_them() -> None:
    """A line ending in a form feed (or NEL, or U+2028) before its newline is two lines,
    as str.splitlines says: the line numbers in warnings after it are not one short."""
    from modbot.hashes import text_lines

    for text in ("abc\x0c\nd", "a\r\nb\rc\n", "x\ty\nz", "a\x85\n\nb", "end\x0c", "p\nq\n"):
        assert list(text_lines(text)) == text.splitlines(), repr(text)
