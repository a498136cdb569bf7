"""`1M` in a duration is refused: it reads as a month to many, and would be a minute."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from modbot.config.policy import load_policy
from modbot.errors import PolicyError


def load(tmp_path: Path, text: str):
    path = tmp_path / "rules.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return load_policy(path)


@pytest.mark.parametrize(
    ("line", "text"),
    [
        (
            4,
            """
        rules:
          - name: ban for a month
            if: {hash_list: bad}
            then: {ban: {duration: 1M}}
        hash_lists: {bad: {kind: sha256, file: bad.sha256}}
        """,
        ),
        (
            3,
            """
        rules:
          - name: new accounts
            if: {labels: nsfw, author: {account_age: "< 6M"}}
            then: {report: true}
        """,
        ),
        (
            1,
            """
        schedule: {sweep_since: 2M}
        rules: []
        """,
        ),
    ],
)
def test_capital_m_is_refused_with_its_line(tmp_path: Path, line: int, text: str):
    (tmp_path / "bad.sha256").write_text("")
    with pytest.raises(PolicyError) as info:
        load(tmp_path, text)
    [problem] = info.value.problems
    assert problem.line == line
    assert "M" in problem.message and "month" in problem.message
    assert "30d" in problem.message and "m for minutes" in problem.message


def test_lowercase_m_is_still_minutes(tmp_path: Path):
    policy = load(tmp_path, "lemmy: {lookback: 90m}\nrules: []\n")
    assert policy.lemmy.lookback == timedelta(minutes=90)
    policy = load(tmp_path, "lemmy: {lookback: 2MIN}\nrules: []\n")
    assert policy.lemmy.lookback == timedelta(minutes=2)
