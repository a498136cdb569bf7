""".env.example and the variables modbot knows (settings.KNOWN_VARS) agree: an admin who
copies the example, uncommenting every line, is warned of none of them; and each name
on the known list is read by some code (MODBOT_USER_AGENT was listed, a constant's
name only: set in an env file it did nothing and drew no warning)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

from modbot.config.settings import KNOWN_VARS

ROOT = Path(__file__).resolve().parents[1]


def test_the_example_uncommented_draws_no_warning(tmp_path: Path) -> None:
    text = (ROOT / ".env.example").read_text()
    env = re.sub(r"(?m)^# ?([A-Z][A-Z0-9_]*=)", r"\1", text)
    assert env.count("=") >= 10  # every variable in it, the optional ones too
    (tmp_path / "modbot.env").write_text(env)
    (tmp_path / "modbot.env").chmod(0o600)
    (tmp_path / "rules.yaml").write_text("rules: []\n")
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "--env-file", "modbot.env", "check-rules", "rules.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith(("LEMMY_", "MODBOT_"))},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr, done.stderr


def _read_names() -> set[str]:
    """The LEMMY_/PICTRS_/MODBOT_ strings in modbot/ and classifier/ code, leaving out the
    known list itself and `__all__` (where a constant's name is a string too)."""
    found: set[str] = set()
    for path in [*(ROOT / "modbot").rglob("*.py"), *(ROOT / "classifier").rglob("*.py")]:
        tree = ast.parse(path.read_text())
        skipped = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and any(
                isinstance(t, ast.Name) and t.id in ("__all__", "KNOWN_VARS") for t in node.targets
            )
            for n in ast.walk(node.value)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in skipped
            ):
                found.add(node.value)
    return found


def test_every_known_name_is_read_by_some_code() -> None:
    read = _read_names()
    assert [name for name in KNOWN_VARS if name not in read] == []
