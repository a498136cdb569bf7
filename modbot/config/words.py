"""How the configuration's messages (and others) name values and choices, and cut them."""

from __future__ import annotations

import datetime
import difflib
from typing import Any

__all__ = ["cut", "describe", "suggest"]


def cut(text: str, limit: int) -> str:
    """``text`` at most ``limit`` characters: cut, it ends with "…" so a reader knows it
    goes on."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def suggest(word: Any, choices: Any) -> str:
    """`" (did you mean 'remove'?)"` when `word` looks like a typo of one of `choices`."""
    names = [str(c) for c in choices]
    close = difflib.get_close_matches(str(word), names, n=1, cutoff=0.6)
    if not close:
        # `CSAM` for `csam`: letter for letter the two share nothing, yet one is meant
        lower = {n.lower(): n for n in reversed(names)}
        close = [lower[m] for m in difflib.get_close_matches(str(word).lower(), lower, n=1)]
    return f" (did you mean {close[0]!r}?)" if close else ""


def describe(v: Any) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, bool):  # YAML's yes/no/on/off too
        return f"{str(v).lower()} (YAML reads yes, no, on and off as true or false)"
    if isinstance(v, (datetime.date, datetime.datetime)):
        return f"the date {v.isoformat()}"
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."
