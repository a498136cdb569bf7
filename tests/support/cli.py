"""The environment `modbot.cli.main` reads, set for an in-process run of a command."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def bot_environment(
    monkeypatch: Any,
    lemmy: Any,
    state: str | Path,
    rules: str | Path | None = None,
    *,
    pictrs: bool = False,
) -> None:
    """As an admin's .env sets it: the fake Lemmy's address and the bot's login, the
    state file, the rules file (when given) and, with ``pictrs``, pict-rs' internal API."""
    values = {
        "LEMMY_URL": lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "MODBOT_STATE": str(state),
    }
    if rules is not None:
        values["MODBOT_RULES"] = str(rules)
    if pictrs:
        values["PICTRS_URL"] = lemmy.pictrs_url
        values["PICTRS_API_KEY"] = lemmy.pictrs_api_key
    for name, value in values.items():
        monkeypatch.setenv(name, value)
