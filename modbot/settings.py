"""Deployment settings and secrets, read from the environment.

The policy (what to do) lives in ``rules.yaml``; where the instance is and how to log in
lives here, so the policy file can be shared and reviewed without leaking a password.
Secrets are wrapped in :class:`Secret`, whose ``repr``/``str`` never show the value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Secret", "Settings", "SettingsError"]


class SettingsError(ValueError):
    """A required setting is missing or malformed; the message says which and how to fix it."""


class Secret:
    """A string that does not print itself. Call :meth:`reveal` where the value is sent."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)


@dataclass(frozen=True)
class Settings:
    """Where the instance is and how the bot logs in (``.env.example`` documents each)."""

    lemmy_url: str
    username: str
    password: Secret = field(repr=False)
    pictrs_url: str | None = None
    pictrs_api_key: Secret | None = field(default=None, repr=False)
    state_path: Path = Path("modbot.sqlite3")
    rules_path: Path = Path("rules.yaml")

    @property
    def can_purge_by_alias(self) -> bool:
        """pict-rs' internal purge needs both its URL and its API key."""
        return bool(self.pictrs_url and self.pictrs_api_key)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        missing = [n for n in ("LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD") if not env.get(n)]
        if missing:
            raise SettingsError(
                f"missing environment variable(s): {', '.join(missing)}; set them (see "
                ".env.example) to the instance URL and the bot account's login"
            )
        url = env["LEMMY_URL"].rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise SettingsError(f"LEMMY_URL must start with http:// or https://, got {url!r}")
        pictrs_url = (env.get("PICTRS_URL") or "").rstrip("/") or None
        api_key = env.get("PICTRS_API_KEY") or None
        if bool(pictrs_url) != bool(api_key):
            raise SettingsError(
                "PICTRS_URL and PICTRS_API_KEY go together (pict-rs' internal purge needs "
                "both); set both, or neither to purge images through their posts"
            )
        return cls(
            lemmy_url=url,
            username=env["LEMMY_USERNAME"],
            password=Secret(env["LEMMY_PASSWORD"]),
            pictrs_url=pictrs_url,
            pictrs_api_key=Secret(api_key) if api_key else None,
            state_path=Path(env.get("MODBOT_STATE") or "modbot.sqlite3"),
            rules_path=Path(env.get("MODBOT_RULES") or "rules.yaml"),
        )
