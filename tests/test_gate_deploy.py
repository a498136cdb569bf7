"""deploy/docker-compose.gate.yml, checked without a Docker engine: pict-rs is wired to
the gate, the gate to the bot's state and the worker, nothing is published, every
service has a healthcheck that is a real modbot command line."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from modbot.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict:
    return yaml.safe_load((ROOT / "deploy" / "docker-compose.gate.yml").read_text())


def port_of(command: list[str]) -> str:
    return command[command.index("--listen") + 1].rsplit(":", 1)[1]


def test_pictrs_asks_the_gate_with_its_secret():
    services = compose()["services"]
    url = services["pictrs"]["environment"]["PICTRS__MEDIA__EXTERNAL_VALIDATION"]
    gate = services["modbot-gate"]
    match = re.fullmatch(r"http://modbot-gate:(\d+)/validate/\$\{MODBOT_GATE_SECRET:\?[^}]+\}", url)
    assert match, url
    assert match.group(1) == port_of(gate["command"])
    assert gate["environment"]["MODBOT_GATE_SECRET"].startswith("${MODBOT_GATE_SECRET:?")
    # pict-rs' own timeout stays above the gate's budget (rules.yaml, 10s by default)
    assert int(services["pictrs"]["environment"]["PICTRS__MEDIA__EXTERNAL_VALIDATION_TIMEOUT"]) > 10


def test_the_gate_shares_the_bots_state_and_rules():
    gate = compose()["services"]["modbot-gate"]
    bot_file = yaml.safe_load((ROOT / "docker-compose.modbot.yml").read_text())
    bot = bot_file["services"]["modbot"]
    for name in ("MODBOT_STATE", "MODBOT_RULES"):
        assert gate["environment"][name] == bot["environment"][name]
    assert set(bot["volumes"]) <= set(gate["volumes"])  # the same state volume and files


def test_nothing_is_published_and_the_token_matches():
    services = compose()["services"]
    for name in ("modbot-gate", "modbot-worker"):
        assert "ports" not in services[name], name
    token = services["modbot-gate"]["environment"]["MODBOT_CLASSIFIER_TOKEN"]
    assert token in services["modbot-worker"]["environment"]["MODBOT_WORKER_TOKENS"]


def test_each_service_has_a_healthcheck_on_its_own_port():
    parser = build_parser()
    for name in ("modbot-gate", "modbot-worker"):
        service = compose()["services"][name]
        parser.parse_args(service["command"])  # a command line modbot accepts
        test = service["healthcheck"]["test"]
        assert test[:2] == ["CMD", "modbot"], test
        args = parser.parse_args(test[2:])
        assert args.command == "healthcheck"
        assert args.http == f"http://127.0.0.1:{port_of(service['command'])}/healthz"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["modbot", "healthcheck"]' in dockerfile  # the bot's, in the image
