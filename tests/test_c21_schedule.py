"""`schedule.sweep_cron: off`: YAML reads a bare off (no, false) as false; it turns the
scheduled sweep off like null, and a value that is no cron line says what to write."""

from __future__ import annotations

from pathlib import Path

import pytest

from modbot.config.checks import validate


def checked(value: str, tmp_path: Path):
    return validate(f"schedule: {{sweep_cron: {value}}}\nrules: []\n", "rules.yaml", tmp_path)


@pytest.mark.parametrize("value", ["off", "false", "no", "null"])
def test_off_turns_the_scheduled_sweep_off(tmp_path, value):
    result = checked(value, tmp_path)
    assert [p.message for p in result.problems if not p.warning] == []
    assert result.model is not None and result.model.schedule.sweep_cron is None


def test_a_value_that_is_no_cron_line_says_what_to_write(tmp_path):
    (problem,) = [p for p in checked("5", tmp_path).problems if not p.warning]
    assert problem.message == (
        "schedule.sweep_cron: expected a cron line in quotes like '0 4 * * *', or off for "
        "no scheduled sweep; got 5"
    )
