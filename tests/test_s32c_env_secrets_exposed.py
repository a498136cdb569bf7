"""A world-readable env file is warned about when it holds a secret: the worker's
tokens, the gate's secret, the classifier token and a proxy login written in LEMMY_URL
are secrets as much as LEMMY_PASSWORD (a worker's or a gate's machine has no password
in its file at all, and was never warned)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def healthcheck(cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEMMY_", "MODBOT_"))}
    return subprocess.run(
        [sys.executable, "-m", "modbot", "healthcheck"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("MODBOT_WORKER_TOKENS=bot-a:s3cr3t-token-of-bot-a", "MODBOT_WORKER_TOKENS"),
        ("MODBOT_GATE_SECRET=abcdefghijklmnopqrstuvwx", "MODBOT_GATE_SECRET"),
        ("MODBOT_CLASSIFIER_TOKEN=s3cr3t-token-of-bot-a", "MODBOT_CLASSIFIER_TOKEN"),
        ("LEMMY_URL=https://proxyuser:proxy-pass@lemmy.example", "LEMMY_URL (its login)"),
    ],
)
def test_a_world_readable_file_holding_a_secret_is_warned_about(tmp_path, line, said):
    env = tmp_path / ".env"
    env.write_text(f"{line}\nMODBOT_STATE=s.sqlite3\n")
    env.chmod(0o644)
    loose = healthcheck(tmp_path)
    assert (
        f".env holds {said} and every user of this machine can read it; make it the "
        "bot's alone: chmod 600 .env"
    ) in loose.stderr
    assert line.split("=", 1)[1] not in loose.stderr + loose.stdout  # the value never said
    env.chmod(0o600)
    assert "chmod" not in healthcheck(tmp_path).stderr


def test_a_lemmy_url_without_a_login_is_no_secret(tmp_path):
    env = tmp_path / ".env"
    env.write_text("LEMMY_URL=https://lemmy.example\nMODBOT_STATE=s.sqlite3\n")
    env.chmod(0o644)
    assert "chmod" not in healthcheck(tmp_path).stderr
