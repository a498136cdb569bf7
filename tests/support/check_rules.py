"""`modbot check-rules` as a user runs it, on a rules file the test writes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path


def check(cwd: Path, *args: str, env: dict | None = None) -> tuple[int, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "modbot", "check-rules", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )
    assert proc.stderr == "", proc.stderr
    return proc.returncode, proc.stdout.splitlines()


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> str:
    (tmp_path / name).write_text(textwrap.dedent(text).lstrip("\n"))
    return name


def problems(tmp_path: Path, text: str) -> list[str]:
    """Check `text` as rules.yaml in tmp_path; it must fail. Returns the problem lines."""
    rc, out = check(tmp_path, write(tmp_path, text))
    assert rc == 1, out
    assert out[-1].startswith("rules.yaml: ") and "will not start" in out[-1], out
    return out[:-1]
