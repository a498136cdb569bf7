"""Each first-week command's `--help` says what the command does and how it exits.

Before: `modbot check-rules --help` listed what it refuses but not a pdq hash list where
the pdqhash package cannot be imported (refused since fb25a29), and printed its whole
description as one line of 900 characters."""

from __future__ import annotations

import subprocess
import sys


def raw_help(*command: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "modbot", *command, "--help"],
        capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "80", "MODBOT_ENV_FILE": "/dev/null"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def help_of(*command: str) -> str:
    return " ".join(raw_help(*command).split())  # argparse's line breaks fall anywhere


def test_the_help_reads_in_a_terminal():
    for command in ("check-rules", "doctor", "init", "healthcheck"):
        long = [line for line in raw_help(command).splitlines() if len(line) > 100]
        assert long == [], (command, long)


def test_check_rules_help_names_the_pdqhash_refusal():
    said = help_of("check-rules")
    assert "a pdq hash list where the pdqhash package cannot be imported" in said, said
