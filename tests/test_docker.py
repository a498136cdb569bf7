"""The Dockerfile and compose snippet, checked without a Docker engine: the commands they
run exist and work, the settings they wire are the ones modbot reads."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import yaml

from modbot.daemon import HEARTBEAT_CURSOR
from modbot.store import Store, utc_iso

ROOT = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def one(name: str) -> str:
    found = [rest for word, rest in instructions() if word == name]
    assert found, f"no {name} in the Dockerfile"
    return found[-1]


def env() -> dict[str, str]:
    values = {}
    for word, rest in instructions():
        if word == "ENV":
            for token in shlex.split(rest):
                key, _, value = token.partition("=")
                values[key] = value
    return values


def grace_seconds(text: str) -> int:
    """Compose's duration ("3m", "90s", "1m30s") in seconds."""
    parts = re.findall(r"(\d+)([hms])", text)
    assert parts and "".join(n + u for n, u in parts) == text, text
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def run_modbot(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "modbot", *args], capture_output=True,
                          text=True, timeout=60, **kwargs)


def test_base_image_user_and_weights_argument():
    args = [rest for word, rest in instructions() if word == "ARG"]
    base = next(a for a in args if a.startswith("CUDA_IMAGE="))
    assert re.fullmatch(r"CUDA_IMAGE=nvidia/cuda:12\.\d+\.\d+-runtime-ubuntu\d+\.\d+", base)
    assert one("FROM") == "${CUDA_IMAGE}"
    assert "MODBOT_FETCH_WEIGHTS=1" in args, "real weights are fetched by default"
    assert one("USER") not in ("root", "0")
    assert env()["HF_HUB_OFFLINE"] == "1", "the container never downloads at run time"


def test_entrypoint_cmd_and_healthcheck_are_real_commands(tmp_path):
    entrypoint, cmd = json.loads(one("ENTRYPOINT")), json.loads(one("CMD"))
    assert entrypoint == ["modbot"]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^modbot = "modbot\.cli:main"$', pyproject, re.M)
    assert cmd == ["run"]
    assert run_modbot(*cmd, "--help").returncode == 0
    health = one("HEALTHCHECK")
    options, _, command = health.partition("CMD")
    assert "--start-period=" in options
    health_cmd = json.loads(command.strip())
    assert health_cmd[:2] == ["modbot", "healthcheck"]

    # Run it as the container would, with the image's MODBOT_STATE (moved under tmp).
    state = tmp_path / Path(env()["MODBOT_STATE"]).name
    container_env = {**os.environ, "MODBOT_STATE": str(state)}
    sick = run_modbot(*health_cmd[1:], env=container_env)
    assert sick.returncode == 1 and "no state file" in sick.stderr
    store = Store(state)
    store.set_cursor(HEARTBEAT_CURSOR, json.dumps({
        "poll_every": 60, "cycles": 1, "run_id": "r",
        "last_ok": utc_iso(datetime.now(timezone.utc)), "stopped_at": None}))
    store.close()
    healthy = run_modbot(*health_cmd[1:], env=container_env)
    assert healthy.returncode == 0, healthy.stderr


def test_the_weights_fetch_step_runs_modbots_own_loader(tmp_path):
    step = next(rest for word, rest in instructions()
                if word == "RUN" and "MODBOT_FETCH_WEIGHTS" in rest)
    code = re.search(r'python3 -c "([^"]+)"', step).group(1)
    # Offline with an empty cache, the same code must fail fast with WeightsNotFound:
    # proof that it names a real loader and the real model.
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path)})
    assert done.returncode != 0
    assert "WeightsNotFound" in done.stderr and "ViT-L-14/openai" in done.stderr


def test_the_image_copies_what_the_demo_and_rules_need():
    copies = [rest for word, rest in instructions() if word == "COPY"]
    assert "rules.yaml /etc/modbot/rules.yaml" in copies
    assert "hashes /etc/modbot/hashes" in copies
    assert env()["MODBOT_RULES"] == "/etc/modbot/rules.yaml"
    ignored = (ROOT / ".dockerignore").read_text().split()
    for needed in ("modbot", "classifier", "rules.yaml", "hashes", "pyproject.toml",
                   "README.md", "LICENSE"):
        assert needed not in ignored
    assert ".venv" in ignored and "*.sqlite3" in ignored and ".env" in ignored


def test_compose_snippet_wires_pictrs_state_and_rules():
    compose = yaml.safe_load((ROOT / "docker-compose.modbot.yml").read_text())
    service = compose["services"]["modbot"]
    environment = service["environment"]
    # (the variable names themselves: tests/test_env_names.py)
    assert set(service["depends_on"]) == {"lemmy", "pictrs"}
    header = (ROOT / "docker-compose.modbot.yml").read_text().split("services:")[0]
    assert "PICTRS_URL=http://pictrs:8080" in header, "pict-rs' URL on the compose network"
    assert "default" in service["networks"]
    # Docker's default 10 s would kill the bot mid-batch (the reasoning is in the file).
    assert grace_seconds(service["stop_grace_period"]) >= 120
    state_dir = str(Path(env()["MODBOT_STATE"]).parent)
    assert str(Path(environment["MODBOT_STATE"]).parent) == state_dir
    mounts = {v.split(":")[1]: v for v in service["volumes"]}
    assert state_dir in mounts and "modbot-state" in compose["volumes"]
    assert mounts[environment["MODBOT_RULES"]].endswith(":ro")
    assert "/etc/modbot/hashes" in mounts
    assert service["command"][0] in ("run",)
