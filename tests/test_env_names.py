"""One set of environment variable names everywhere: the names `Settings` reads are the
ones .env.example lists, the compose file passes, the Dockerfile sets and the README and
docs/configuration.md explain; no deployment file names a variable nothing reads."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import yaml

from modbot.config.settings import ENV_FILE_VAR, Settings, SettingsError

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"\b(?:LEMMY|PICTRS|MODBOT)_[A-Z0-9_]*[A-Z0-9]\b")


class Recorder(Mapping):
    """An environment that has every variable asked for (a URL does for each) and
    remembers the names; `absent` ones it does not have."""

    def __init__(self, absent: frozenset[str] = frozenset()) -> None:
        self.absent, self.asked = absent, set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        if key in self.absent:
            raise KeyError(key)
        return "http://value.example"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def settings_names() -> set[str]:
    recorder = Recorder()
    Settings.from_env(recorder)
    return recorder.asked


def required_names() -> set[str]:
    """The names present in every environment Settings starts with (all subsets tried:
    PICTRS_URL and PICTRS_API_KEY go in pairs)."""
    names = sorted(settings_names())
    required = set(names)
    for mask in range(2 ** len(names)):
        absent = frozenset(n for i, n in enumerate(names) if mask >> i & 1)
        try:
            Settings.from_env(Recorder(absent))
        except SettingsError:
            continue
        required -= absent
    return required


def names_the_code_reads() -> set[str]:
    """Every LEMMY_/PICTRS_/MODBOT_ string constant in modbot/, classifier/ and the
    Python scripts of deploy/ (the image build's own knobs)."""
    found = set()
    scripts = [
        p
        for p in (ROOT / "deploy").glob("*")
        if p.is_file() and p.read_text(errors="replace").startswith("#!/usr/bin/env python")
    ]
    for path in [*(ROOT / "modbot").rglob("*.py"), *(ROOT / "classifier").rglob("*.py"), *scripts]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and NAME.fullmatch(node.value)
            ):
                found.add(node.value)
    return found


def dotenv_example_keys() -> tuple[set[str], set[str]]:
    """(set, commented out) keys of .env.example."""
    active, commented = set(), set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        if m := re.fullmatch(r"([A-Z][A-Z0-9_]*)=.*", line):
            active.add(m.group(1))
        elif m := re.fullmatch(r"# ?([A-Z][A-Z0-9_]*)=.*", line):
            commented.add(m.group(1))
    return active, commented


def compose_environment() -> dict[str, str]:
    compose = yaml.safe_load((ROOT / "docker-compose.modbot.yml").read_text())
    return compose["services"]["modbot"]["environment"]


def dockerfile_env_and_args() -> tuple[dict[str, str], set[str]]:
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    env, args = {}, set()
    for line in text.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "ENV":
            for token in rest.split():
                key, _, value = token.partition("=")
                env[key] = value
        elif word == "ARG":
            args.add(rest.split("=")[0].strip())
    return env, args


def test_settings_reads_the_documented_names():
    assert settings_names() == {
        "LEMMY_URL",
        "LEMMY_USERNAME",
        "LEMMY_PASSWORD",
        "PICTRS_URL",
        "PICTRS_API_KEY",
        "MODBOT_STATE",
        "MODBOT_RULES",
        "MODBOT_CLASSIFIER_TOKEN",
    }
    assert required_names() == {"LEMMY_URL", "LEMMY_USERNAME", "LEMMY_PASSWORD"}


def test_env_example_lists_exactly_those_the_required_ones_set():
    active, commented = dotenv_example_keys()
    assert active | commented == settings_names()
    assert required_names() <= active
    assert {"PICTRS_URL", "PICTRS_API_KEY"} <= commented, "optional, as in the bot"


def test_compose_passes_the_same_names_under_the_same_names():
    environment = compose_environment()
    assert set(environment) == settings_names()
    dockerfile_env, _ = dockerfile_env_and_args()
    for key, value in environment.items():
        referenced = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", value)
        if key in ("MODBOT_STATE", "MODBOT_RULES"):
            # the container's layout, as the image sets it
            assert referenced == [] and value == dockerfile_env[key], key
            continue
        assert referenced == [key], f"{key} is read from .env under its own name"
        required = re.fullmatch(rf"\$\{{{key}:\?[^}}]+\}}", value) is not None
        assert required == (key in required_names()), (key, value)
        if not required:
            assert value == f"${{{key}:-}}", "optional: empty when not set, as in the bot"


def test_readme_and_configuration_docs_explain_every_name():
    documented = settings_names() | {ENV_FILE_VAR}
    for doc in ("README.md", "docs/configuration.md"):
        text = (ROOT / doc).read_text()
        missing = {n for n in documented if f"`{n}`" not in text}
        assert not missing, f"{doc} does not mention {sorted(missing)}"


def test_no_deployment_file_names_a_variable_nothing_reads():
    _, build_args = dockerfile_env_and_args()
    known = names_the_code_reads() | build_args
    files = [
        ROOT / name
        for name in ("README.md", ".env.example", "docker-compose.modbot.yml", "Dockerfile")
    ]
    files += sorted((ROOT / "docs").glob("*.md"))
    files += (
        sorted(p for p in (ROOT / "deploy").glob("*") if p.is_file())
        if (ROOT / "deploy").is_dir()
        else []
    )
    stray = {}
    for path in files:
        for name in NAME.findall(path.read_text()):
            if "__" not in name and name not in known:  # PICTRS__SERVER__API_KEY is pict-rs'
                stray.setdefault(name, path.name)
    assert not stray, f"names nothing in modbot reads: {stray}"
