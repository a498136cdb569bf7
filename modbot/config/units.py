"""Human-written durations, sizes and comparisons as they appear in rules.yaml.

`"90s"`, `"5m"`, `"6h"`, `"3d"`, `"2w"`, `"1h30m"`, `"3 days"`; `"25MB"`, `"512KiB"`;
`"> 0.02"`, `"< 3d"`. Every parser raises `ValueError` with a message that says what
was expected, which the policy loader turns into `FILE:LINE: message`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
_CALENDAR = {
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), ("year", 365)),
    **dict.fromkeys(("mo", "mon", "month", "months"), ("month", 30)),
}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)", re.I)

DURATION_HELP = "a duration like 30s, 5m, 6h, 3d, 2w or 1h30m"


def parse_duration(text: Any, *, allow_zero: bool = False) -> timedelta:
    """`"1h30m"` -> timedelta(hours=1, minutes=30). A bare number is refused: say the unit.
    ``allow_zero``: where zero means something (`recheck_after: 0s`: always ask)."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ValueError(f"expected {DURATION_HELP}, got {text!r}")
    if isinstance(text, (int, float)):
        raise ValueError(f"{text!r} has no unit: write {text}s, {text}m, {text}h or {text}d")
    s = text.strip()
    pos, seconds = 0, 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        unit = m.group(2).lower()
        if m.group(2) == "M":  # a month to many, a minute here: say which
            raise ValueError(
                f"{text!r}: M is not a unit here (a month? a minute?): write m for minutes, "
                "or days for a month (30d)"
            )
        if unit in _CALENDAR:
            # a year or a month is days of a length the admin picks: say how many
            name, days = _CALENDAR[unit]
            raise ValueError(
                f"unknown time unit {m.group(2)!r} in {text!r}: a {name} is written "
                f"{days}d, so {m.group(0).strip()} is {float(m.group(1)) * days:g}d; use s, m, "
                "h, d or w"
            )
        if unit not in _UNITS:
            raise ValueError(f"unknown time unit {m.group(2)!r} in {text!r}: use s, m, h, d or w")
        seconds += float(m.group(1)) * _UNITS[unit]
        pos = m.end()
    if pos == 0 or s[pos:].strip():
        if re.fullmatch(r"\d+(\.\d+)?", s):
            raise ValueError(f"{text!r} has no unit: write {s}s, {s}m, {s}h or {s}d")
        raise ValueError(f"expected {DURATION_HELP}, got {text!r}")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(f"a duration must be longer than zero, got {text!r}")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:  # past timedelta.max: a ValueError gets its FILE:LINE
        raise ValueError(
            f"{text!r} is too long: a duration is at most {timedelta.max.days} days"
        ) from None


def format_duration(value: timedelta) -> str:
    """The readable form: 3d, 6h, 90s -> 1m30s, 14d -> 2w, 30d -> 30d.

    Weeks only when the duration is whole weeks: an admin writes a ban or a window in
    days (30d, 90d, 365d) and reads it back so, not as 4w2d."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return f"{value.total_seconds():g}s"
    units: tuple[tuple[str, int], ...] = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    if seconds % 604800 == 0:
        units = (("w", 604800),)
    out = []
    for unit, size in units:
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)


_SIZES = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "k": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gib": 1024**3,
}
SIZE_HELP = "a size like 25MB, 512KB or 1GiB (or a number of bytes)"


def parse_size(text: Any) -> int:
    """`"25MB"` -> 25_000_000 bytes (KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024)."""
    if isinstance(text, bool):
        raise ValueError(f"expected {SIZE_HELP}, got {text!r}")
    if isinstance(text, int):
        value = text
    elif isinstance(text, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", text, re.I)
        if not m or m.group(2).lower() not in _SIZES:
            raise ValueError(f"expected {SIZE_HELP}, got {text!r}")
        value = int(float(m.group(1)) * _SIZES[m.group(2).lower()])
    else:
        raise ValueError(f"expected {SIZE_HELP}, got {text!r}")
    if value <= 0:
        raise ValueError(f"a size must be more than zero, got {text!r}")
    return value


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Comparison:
    """`"> 0.02"` as (op, value); `test(x)` is `x > 0.02`. `text` is what the admin wrote."""

    op: str
    value: Any
    text: str

    def test(self, x: Any) -> bool:
        return _OPS[self.op](x, self.value)

    def __str__(self) -> str:
        return self.text


def _split_comparison(text: Any, example: str) -> tuple[str, str]:
    if not isinstance(text, str):
        raise ValueError(f"expected a comparison in quotes like {example!r}, got {text!r}")
    m = re.fullmatch(r"\s*(>=|<=|>|<)\s*(.+?)\s*", text)
    if not m:
        raise ValueError(
            f"expected a comparison like {example!r} (one of >, >=, <, <= then a value), "
            f"got {text!r}"
        )
    return m.group(1), m.group(2)


def parse_number_comparison(text: Any) -> Comparison:
    """`"> 0.02"`, `">= -0.01"` for scores (margins: similarity - threshold)."""
    op, rest = _split_comparison(text, "> 0.02")
    try:
        value = float(rest)
    except ValueError:
        raise ValueError(f"{rest!r} in {text!r} is not a number") from None
    return Comparison(op, value, f"{op} {rest}")


def parse_duration_comparison(text: Any) -> Comparison:
    """`"< 3d"` for account age."""
    op, rest = _split_comparison(text, "< 3d")
    return Comparison(op, parse_duration(rest), f"{op} {rest}")
