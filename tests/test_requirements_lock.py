"""deploy/requirements.lock, the hashed pins the Docker image installs: every pin hashed,
every dependency of pyproject.toml and of torch covered at a version that satisfies it,
torch itself left to PyTorch's index. (Installing it needs the image's Python and ~50 MB
from PyPI: `deploy/lock` and the Docker build do that; this checks what can be checked
here.)"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "deploy" / "requirements.lock"
# Installed by the Dockerfile from PyTorch's index, with what only the CUDA build needs.
FROM_PYTORCH_INDEX = {"torch", "torchvision"}


def pins() -> dict[str, tuple[Version, list[str]]]:
    """name -> (version, hashes) of every requirement in the lock."""
    text = re.sub(r"\\\n", " ", LOCK.read_text())
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})*)\s*", line)
        assert m, f"not a hashed pin: {line[:80]!r}"
        out[canonicalize_name(m.group(1))] = (Version(m.group(2)), m.group(3).split())
    return out


def image_environment() -> dict[str, str]:
    """Markers as in the image: the Python deploy/lock resolves for, on Linux."""
    major_minor = re.search(r"--python-version (\d+\.\d+)", (ROOT / "deploy/lock").read_text())
    env = default_environment()
    env.update(
        python_version=major_minor.group(1),
        python_full_version=f"{major_minor.group(1)}.0",
        sys_platform="linux",
        platform_system="Linux",
        platform_machine="x86_64",
        os_name="posix",
    )
    return env


def applies(requirement: Requirement) -> bool:
    return requirement.marker is None or requirement.marker.evaluate(
        {**image_environment(), "extra": ""}
    )


def assert_pinned(requirement: Requirement, locked, why: str) -> None:
    name = canonicalize_name(requirement.name)
    assert name in locked, f"{requirement} ({why}) is not in {LOCK.name}; run deploy/lock"
    version = locked[name][0]
    assert requirement.specifier.contains(version, prereleases=True), (
        f"{LOCK.name} pins {name}=={version}, but {why} asks {requirement}; run deploy/lock"
    )


def test_every_pin_is_exact_and_hashed():
    locked = pins()
    assert len(locked) > 20
    for name, (_version, hashes) in locked.items():
        assert hashes, f"{name} has no hash: pip --require-hashes would refuse the file"


def test_pyproject_dependencies_are_all_locked_but_torch():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = pins()
    for line in project["dependencies"]:
        requirement = Requirement(line)
        if canonicalize_name(requirement.name) in FROM_PYTORCH_INDEX:
            continue
        assert_pinned(requirement, locked, "pyproject.toml")
    assert not FROM_PYTORCH_INDEX & set(locked), "torch comes from PyTorch's index"
    assert not [n for n in locked if n.startswith("nvidia-") or n == "triton"]


def test_torch_and_torchvision_dependencies_are_locked():
    """What the installed torch/torchvision (the CPU wheels: the CUDA ones add only
    nvidia-* and triton) ask for is pinned, and deploy/torch-deps.in says so."""
    locked = pins()
    listed = {
        canonicalize_name(Requirement(line).name)
        for line in (ROOT / "deploy/torch-deps.in").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for dist in FROM_PYTORCH_INDEX:
        for line in metadata.requires(dist) or []:
            requirement = Requirement(line)
            name = canonicalize_name(requirement.name)
            if not applies(requirement) or name in FROM_PYTORCH_INDEX:
                continue
            assert name in listed, f"{dist} needs {requirement}: add it to deploy/torch-deps.in"
            assert_pinned(requirement, locked, dist)


def test_the_lock_is_closed():
    """Each locked package's own dependencies are locked too (checked for those installed
    here at the locked version, whose metadata is at hand)."""
    locked = pins()
    checked = 0
    for name, (version, _hashes) in locked.items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if Version(dist.version) != version:
            continue
        checked += 1
        for line in dist.requires or []:
            requirement = Requirement(line)
            if (
                applies(requirement)
                and canonicalize_name(requirement.name) not in FROM_PYTORCH_INDEX
            ):
                assert_pinned(requirement, locked, f"{name} {version}")
    assert checked >= len(locked) // 2, "enough of the lock checked to mean something"


def test_the_lock_is_made_by_the_documented_command():
    header = LOCK.read_text().splitlines()[:2]
    assert header[1].strip("# ") == "deploy/lock"
    script = (ROOT / "deploy/lock").read_text()
    assert "--generate-hashes" in script and "deploy/lock-overrides.txt" in script
    overrides = (ROOT / "deploy/lock-overrides.txt").read_text()
    for name in FROM_PYTORCH_INDEX:
        assert re.search(rf'^{name} ; sys_platform == "never"$', overrides, re.M)
    assert "deploy/lock" in (ROOT / "README.md").read_text()
