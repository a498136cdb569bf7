"""A ban's `duration` past 100 years is refused with its line, saying to write
`permanent`: an end date 27,000 years out is past what Lemmy's answers and Python's
dates carry, and means nothing an admin would choose."""

from __future__ import annotations

from modbot.cli import main

RULES = """rules:
  - name: csam
    priority: 100
    if: {labels: [csam]}
    then:
      ban: {duration: %s}
"""


def _check(tmp_path, capsys, duration: str) -> tuple[int, str]:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES % duration)
    status = main(["check-rules", str(path)])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_a_ban_of_more_than_a_hundred_years_says_write_permanent(tmp_path, capsys):
    status, said = _check(tmp_path, capsys, "9999999d")
    assert status == 1
    assert "rules.yaml:6" in said and "write permanent" in said, said


def test_a_hundred_years_and_permanent_are_taken(tmp_path, capsys):
    for duration in ("36500d", "permanent", "7d"):
        status, said = _check(tmp_path, capsys, duration)
        assert status == 0, (duration, said)
