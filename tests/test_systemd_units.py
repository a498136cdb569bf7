"""The systemd examples in deploy/: what they run is a real `modbot` command line, they
give the bot the grace period compose gives it, they are hardened, and systemd itself
accepts them (`systemd-analyze verify`, where systemd is installed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support.compose import grace_seconds
from support.systemd import modbot_args, the, unit

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = ("modbot.service", "modbot-once.service", "modbot-once.timer")


def compose_grace() -> int:
    compose = yaml.safe_load((ROOT / "docker-compose.modbot.yml").read_text())
    return grace_seconds(compose["services"]["modbot"]["stop_grace_period"])


@pytest.mark.parametrize("name", ["modbot.service", "modbot-once.service"])
def test_services_are_hardened_and_run_as_the_bot(name):
    service = unit(name)["Service"]
    assert the(service, "User") == "modbot"
    assert the(service, "EnvironmentFile").startswith("/etc/")
    state = the(service, "WorkingDirectory")
    assert state in the(service, "ReadWritePaths").split()
    assert the(service, "StateDirectory") == Path(state).name
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
    }.items():
        assert the(service, key) == value, key
    # Everything it writes (model cache, text-embedding cache) is under the state dir.
    for assignment in service.get("Environment", []):
        assert assignment.split("=", 1)[1].startswith(state + "/"), assignment
    # Given as long to finish the batch in hand as under compose.
    assert int(the(service, "TimeoutStopSec")) == compose_grace()


def test_the_service_is_the_daemon_restarted_on_failure():
    service = unit("modbot.service")["Service"]
    assert the(service, "Type") == "simple"
    assert the(service, "Restart") == "on-failure"
    args = modbot_args(service)
    assert args.command == "run" and not args.once and not args.dry_run
    assert args.rules and args.rules.startswith("/etc/")
    assert unit("modbot.service")["Install"]["WantedBy"] == ["multi-user.target"]


def test_the_timer_runs_one_cycle():
    timer = unit("modbot-once.timer")
    assert the(timer["Timer"], "Unit") == "modbot-once.service"
    assert the(timer["Timer"], "OnCalendar")
    assert timer["Install"]["WantedBy"] == ["timers.target"]
    service = unit("modbot-once.service")["Service"]
    assert the(service, "Type") == "oneshot"
    args = modbot_args(service)
    assert args.command == "run" and args.once


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd here")
def test_systemd_accepts_the_units(tmp_path):
    modbot = Path(sys.executable).parent / "modbot"
    assert modbot.exists(), "modbot is installed in the test environment"
    for name in UNITS:
        text = (DEPLOY / name).read_text().replace("/opt/modbot/bin/modbot", str(modbot))
        (tmp_path / name).write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(f"./{name}" for name in UNITS)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_the_readme_says_how_to_run_them():
    readme = (ROOT / "README.md").read_text()
    for needle in (
        "deploy/modbot.service",
        "deploy/modbot-once.timer",
        "systemctl enable --now modbot",
        "/etc/modbot/modbot.env",
    ):
        assert needle in readme, needle
