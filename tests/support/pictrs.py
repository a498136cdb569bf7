"""A client of the fake's pict-rs for in-process store walks: read-only (no change can
go out), unpaced, with the internal API key."""

from __future__ import annotations

from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient


def store_reader(lemmy) -> LemmyClient:
    return LemmyClient(
        lemmy.url,
        "modbot",
        Secret("pw"),
        pictrs_url=lemmy.pictrs_url,
        pictrs_api_key=Secret(lemmy.pictrs_api_key),
        requests_per_minute=0,
        read_only=True,
    )
