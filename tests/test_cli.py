"""The entry point itself: installed console script, help, and the CI/README contract."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_help_lists_every_command():
    out = subprocess.run(
        [sys.executable, "-m", "modbot", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ["run", "sweep", "report", "demo", "check-rules", "classify", "healthcheck"]:
        assert re.search(rf"^\s+{command}\s", out, re.M), command


def test_help_does_not_import_torch():
    code = "import sys; from modbot.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = section.split("```", 2)[1]
    lines = [line for line in block.splitlines()[1:] if line.strip()]
    return lines


def test_readme_quick_start_has_two_commands_and_ci_runs_the_test_one():
    commands = quick_start_commands()
    assert len(commands) == 2, commands
    assert "modbot demo" in commands[0]
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == commands[1], "'.ci/run' must run exactly the README's test command"
