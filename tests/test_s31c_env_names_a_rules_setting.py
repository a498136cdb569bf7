"""An env file setting a rules.yaml setting (MODBOT_USER_AGENT for fetch.user_agent) was
taken for a variable modbot reads: nothing said, nothing used. It is said, naming where
the setting goes; a misspelling is never pointed at it."""

from __future__ import annotations

import logging
from pathlib import Path

from modbot.config.settings import load_env_file


def _said(tmp_path: Path, caplog, text: str) -> list[str]:
    env = tmp_path / "modbot.env"
    env.write_text(text)
    with caplog.at_level(logging.WARNING, logger="modbot.config.settings"):
        load_env_file(env, {})
    return [r.getMessage().removeprefix(f"{env}: ") for r in caplog.records]


def test_a_rules_setting_in_the_env_file_is_said_with_where_it_goes(tmp_path, caplog):
    said = _said(tmp_path, caplog, "MODBOT_USER_AGENT=ExampleBot/1.0\nMODBOT_MAX_BYTES=50MB\n")
    assert said == [
        "MODBOT_USER_AGENT is not a setting modbot reads; it is fetch.user_agent in "
        "rules.yaml, and no environment variable sets it: write it there",
        "MODBOT_MAX_BYTES is not a setting modbot reads; it is fetch.max_bytes or "
        "gate.max_bytes in rules.yaml, and no environment variable sets it: write it there",
    ]


def test_a_misspelling_is_not_sent_to_a_variable_nobody_reads(tmp_path, caplog):
    said = _said(tmp_path, caplog, "MODBOT_USER_AGNT=ExampleBot/1.0\n")
    assert not any("did you mean MODBOT_USER_AGENT" in s for s in said), said
