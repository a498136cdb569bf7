"""The Dockerfile and compose snippet, checked without a Docker engine: the commands they
run exist and work, the settings they wire are the ones modbot reads."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import yaml
from support.compose import grace_seconds

from modbot.modes.daemon import HEARTBEAT_CURSOR
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


def run_modbot(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "modbot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


def copies() -> dict[str, str]:
    """Where each one-source COPY puts its source in the image: destination -> source."""
    out = {}
    for word, rest in instructions():
        if word == "COPY" and len(rest.split()) == 2:
            source, destination = rest.split()
            out[destination] = source
    return out


def step(needle: str) -> int:
    """Index (in instructions()) of the one RUN whose command holds `needle`."""
    found = [i for i, (word, rest) in enumerate(instructions()) if word == "RUN" and needle in rest]
    assert len(found) == 1, f"{len(found)} RUN steps with {needle!r}"
    return found[0]


def test_slim_python_base_non_root_offline():
    args = dict(rest.split("=", 1) for word, rest in instructions() if word == "ARG")
    # The CUDA libraries come with torch's CUDA wheels; a CUDA base image only doubled them.
    assert re.fullmatch(r"python:3\.\d+-slim", args["PYTHON_IMAGE"])
    assert one("FROM") == "${PYTHON_IMAGE}"
    assert "nvidia/cuda" not in (ROOT / "Dockerfile").read_text().split("ARG PYTHON_IMAGE")[1]
    python = tuple(map(int, args["PYTHON_IMAGE"][len("python:") : -len("-slim")].split(".")))
    floor = re.search(
        r'^requires-python = ">=(\d+)\.(\d+)"', (ROOT / "pyproject.toml").read_text(), re.M
    )
    assert python >= tuple(map(int, floor.groups()))
    lock_target = re.search(r"--python-version (\d+)\.(\d+)", (ROOT / "deploy/lock").read_text())
    assert python == tuple(map(int, lock_target.groups())), "the lock is made for this Python"
    assert args["MODBOT_FETCH_WEIGHTS"] == "1", "real weights are fetched by default"
    assert one("USER") not in ("root", "0")
    assert env()["HF_HUB_OFFLINE"] == "1", "the container never downloads at run time"


def test_layers_go_torch_requirements_weights_code():
    steps = instructions()
    torch, lock = step("torch==${TORCH_VERSION}"), step("--require-hashes")
    weights, code = step("MODBOT_FETCH_WEIGHTS"), step("pip install --no-deps")
    assert torch < lock < weights < code
    # Nothing of modbot's code (nor pyproject.toml, whose version changes) before the
    # weights: a code change must not download 1.7 GB again.
    before_weights = [rest.split()[0] for word, rest in steps[:weights] if word == "COPY"]
    assert before_weights == ["deploy/requirements.lock", "deploy/fetch-weights"]
    code_copies = [
        i
        for i, (word, rest) in enumerate(steps)
        if word == "COPY" and rest.split()[0] in ("modbot", "classifier", "pyproject.toml")
    ]
    assert len(code_copies) == 3 and weights < min(code_copies) and max(code_copies) < code
    lock_path = next(d for d, s in copies().items() if s == "deploy/requirements.lock")
    assert f"pip install --require-hashes -r {lock_path}" in steps[lock][1]
    assert "--no-build-isolation" in steps[code][1] and "pip check" in steps[code][1]


def test_each_build_argument_comes_just_before_its_first_use():
    """A RUN after an ARG is rebuilt when the ARG's value changes, used or not: changing
    MODBOT_FETCH_WEIGHTS must not reinstall torch."""
    steps = instructions()
    start = next(i for i, (word, _) in enumerate(steps) if word == "FROM")
    for i, (word, rest) in enumerate(steps[start:], start):
        if word != "ARG":
            continue
        name = rest.split("=")[0]
        first_run = next(r for w, r in steps[i:] if w == "RUN")
        assert re.search(rf"\$\{{?{name}\b", first_run), f"the RUN after ARG {name} uses it"


def test_the_cpu_image_is_one_build_argument_away_and_documented():
    args = dict(rest.split("=", 1) for word, rest in instructions() if word == "ARG")
    assert args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cu128"
    pins = dict(
        line.split("==")
        for line in (ROOT / "constraints-cpu.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert (args["TORCH_VERSION"], args["TORCHVISION_VERSION"]) == (
        pins["torch"],
        pins["torchvision"],
    )
    cpu = "--build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu"
    assert cpu in (ROOT / "README.md").read_text()
    assert cpu in (ROOT / "Dockerfile").read_text()


class FakeHub:
    """The Hugging Face Hub's file endpoints, as `hf_hub_download` uses them: HEAD/GET
    /{repo}/resolve/{revision}/{file} with the commit and ETag headers."""

    BODY = b"not really weights" * 64

    def __init__(self) -> None:
        import hashlib
        import http.server
        import threading

        self.paths: list[str] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                hub.paths.append(self.path)
                if "/resolve/" not in self.path:
                    self.send_error(404)
                    return False
                self.send_response(200)
                self.send_header("X-Repo-Commit", "0123456789abcdef" * 2 + "01234567")
                self.send_header("ETag", f'"{hashlib.sha256(hub.BODY).hexdigest()}"')
                self.send_header("Content-Length", str(len(hub.BODY)))
                self.end_headers()
                return True

            def do_GET(self):
                if self.do_HEAD():
                    self.wfile.write(hub.BODY)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_weights_step(
    tmp_path: Path, fetch: str, endpoint: str, dd_sha256: str | None = None
) -> subprocess.CompletedProcess:
    """The weights RUN as the build runs it (sh, the venv's python3 first on PATH), with
    the files it COPYs taken from the checkout."""
    command = instructions()[step("MODBOT_FETCH_WEIGHTS")][1]
    for destination, source in copies().items():
        command = command.replace(destination, str(ROOT / source))
    return subprocess.run(
        ["sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "MODBOT_FETCH_WEIGHTS": fetch,
            "HF_HOME": str(tmp_path / "hf"),
            "HF_ENDPOINT": endpoint,
            "HF_HUB_DISABLE_TELEMETRY": "1",
            # DeepDanbooru from the fake hub too: its body, with the body's sha256
            "MODBOT_DEEPDANBOORU_URL": f"{endpoint}/dd/resolve/v1/model-resnet_custom_v3.pt",
            "MODBOT_DEEPDANBOORU_SHA256": dd_sha256 or hashlib.sha256(FakeHub.BODY).hexdigest(),
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        },
    )


def test_the_weights_step_puts_the_weights_where_the_loader_looks(tmp_path):
    hub = FakeHub()
    try:
        done = run_weights_step(tmp_path, "1", hub.url)
    finally:
        hub.close()
    assert done.returncode == 0, done.stderr[-2000:]
    # Offline, as the container runs: modbot's own loader resolves the shipped policy's
    # model to the file the step downloaded.
    code = """if True:
        import sys
        from classifier.compat import import_open_clip
        from classifier.model import ModelSpec, _resolve_checkpoint, _tag_config
        from modbot.config.policy import load_policy
        import_open_clip()
        c = load_policy(sys.argv[1]).classifier
        spec = ModelSpec(name=c.model, pretrained=c.pretrained, device="cpu")
        print(_resolve_checkpoint(spec, _tag_config(spec)))
    """
    found = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "rules.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"},
    )
    assert found.returncode == 0, found.stderr[-2000:]
    weights = Path(found.stdout.strip())
    assert weights.is_relative_to(tmp_path / "hf" / "hub")
    assert weights.read_bytes() == FakeHub.BODY
    assert any(p.endswith(f"/resolve/main/{weights.name}") for p in hub.paths)
    # and DeepDanbooru's file where `classifier.deepdanbooru: auto` looks ($HF_HOME)
    assert (tmp_path / "hf" / "model-resnet_custom_v3.pt").read_bytes() == FakeHub.BODY


def test_the_weights_step_refuses_a_deepdanbooru_file_with_another_sha256(tmp_path):
    hub = FakeHub()
    try:
        done = run_weights_step(tmp_path, "1", hub.url, dd_sha256="0" * 64)
    finally:
        hub.close()
    assert done.returncode != 0 and "expected " + "0" * 64 in done.stderr
    assert not (tmp_path / "hf" / "model-resnet_custom_v3.pt").exists()


def test_without_weights_the_step_downloads_nothing(tmp_path):
    hub = FakeHub()
    try:
        done = run_weights_step(tmp_path, "0", hub.url)
    finally:
        hub.close()
    assert done.returncode == 0 and "no weights in the image" in done.stdout
    assert hub.paths == [] and not (tmp_path / "hf").exists()


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
    store.set_cursor(
        HEARTBEAT_CURSOR,
        json.dumps(
            {
                "poll_every": 60,
                "cycles": 1,
                "run_id": "r",
                "last_ok": utc_iso(datetime.now(UTC)),
                "stopped_at": None,
            }
        ),
    )
    store.close()
    healthy = run_modbot(*health_cmd[1:], env=container_env)
    assert healthy.returncode == 0, healthy.stderr


def test_the_image_copies_what_the_demo_and_rules_need():
    copies = [rest for word, rest in instructions() if word == "COPY"]
    # the shipped copies (the checkout's top-level rules.yaml and hashes/ link to them)
    assert "modbot/defaults/rules.yaml /etc/modbot/rules.yaml" in copies
    assert "modbot/defaults/hashes /etc/modbot/hashes" in copies
    assert env()["MODBOT_RULES"] == "/etc/modbot/rules.yaml"
    ignored = (ROOT / ".dockerignore").read_text().split()
    for needed in (
        "modbot",
        "classifier",
        "rules.yaml",
        "hashes",
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "deploy",
    ):
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
