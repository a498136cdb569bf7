"""Each first-week command's `--help` says what the command does and how it exits.

Before: `modbot check-rules --help` listed what it refuses but not a pdq hash list where
the pdqhash package cannot be imported (refused since fb25a29), and printed its whole
description as one line of 900 characters; `modbot init --help` said nothing of its
exit status (1 when a file is in the way and nothing was written) nor of DIR."""

from __future__ import annotations

import re
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


def test_init_help_says_its_exit_status(tmp_path):
    said = help_of("init")
    assert "DIR where to write them (default: the current folder; made if missing)" in said
    assert re.search(r"Exit status 0 when the files were written, 1 when nothing was", said), said
    # ...and it is so, through the real entry point
    run = [sys.executable, "-m", "modbot", "init", str(tmp_path / "bot")]
    env = {"PATH": "/usr/bin:/bin", "MODBOT_ENV_FILE": ""}
    first = subprocess.run(run, capture_output=True, text=True, timeout=60, env=env)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(run, capture_output=True, text=True, timeout=60, env=env)
    assert again.returncode == 1 and "nothing was written" in again.stderr, again.stderr
