"""-v, -q and --env-file work after the command as before it (`modbot check-rules -v`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modbot.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "argv",
    [
        ["-v", "check-rules", "rules.yaml"],
        ["check-rules", "-v", "rules.yaml"],
        ["check-rules", "rules.yaml", "--verbose"],
    ],
)
def test_verbose_before_or_after_the_command(argv):
    args = build_parser().parse_args(argv)
    assert (args.command, args.verbose, args.quiet) == ("check-rules", 1, False)


def test_quiet_after_the_command_and_nothing_given_keeps_the_defaults():
    assert build_parser().parse_args(["healthcheck", "-q"]).quiet is True
    args = build_parser().parse_args(["healthcheck"])
    assert (args.verbose, args.quiet, args.env_file) == (0, False, None)


def test_env_file_after_the_command_is_read(tmp_path):
    """Through the real entry point: the rules file named only in the --env-file given
    after the command is the one checked."""
    rules = tmp_path / "policy.yaml"
    shutil.copy(ROOT / "rules.yaml", rules)
    shutil.copytree(ROOT / "hashes", tmp_path / "hashes")
    env = tmp_path / "settings.env"
    env.write_text(f"MODBOT_RULES={rules}\n")
    done = subprocess.run(
        [sys.executable, "-m", "modbot", "check-rules", "--env-file", str(env)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in __import__("os").environ.items() if k != "MODBOT_RULES"},
    )
    assert done.returncode == 0, done.stderr
    assert f"{rules}: valid" in done.stdout
