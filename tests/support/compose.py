"""Reading what the compose files say."""

from __future__ import annotations

import re


def grace_seconds(text: str) -> int:
    """Compose's duration ("3m", "90s", "1m30s") in seconds."""
    parts = re.findall(r"(\d+)([hms])", text)
    assert parts and "".join(n + u for n, u in parts) == text, text
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)
