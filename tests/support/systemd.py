"""Reading the systemd units under deploy/ (test_systemd_units, test_cron_health)."""

from __future__ import annotations

import shlex
from pathlib import Path

from modbot.cli import build_parser

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """section -> key -> values (a key may repeat, as Environment= does)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in (DEPLOY / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def the(section: dict[str, list[str]], key: str) -> str:
    values = section.get(key, [])
    assert len(values) == 1, f"{key}: {values}"
    return values[0]


def modbot_args(service: dict[str, list[str]]):
    argv = shlex.split(the(service, "ExecStart"))
    assert Path(argv[0]).name == "modbot"
    return build_parser().parse_args(argv[1:])  # exits (fails the test) on a bad option
