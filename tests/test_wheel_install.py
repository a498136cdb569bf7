"""A plain `pip install` of the wheel is enough: it carries the default policy, the hash
lists, the .env template, the demo's data and the fake instance, so `modbot init` and
`modbot demo` work outside a checkout. Builds the wheel from a copy of the sources,
installs it into a fresh venv with nothing downloaded (--no-deps, --no-index; the
dependencies are this test environment's, torch included), and runs both there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "modbot", "classifier", "fakelemmy")


def run(*argv: str | Path, cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{argv}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.slow
def test_the_wheel_installs_and_runs_init_and_the_demo(tmp_path):
    # The sources as a tarball of the checkout would have them (links resolved).
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, src / name)
    wheels = tmp_path / "wheels"
    run(
        sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
        "-w", wheels, src, cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = wheels.glob("lemmy_modbot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "modbot/defaults/rules.yaml",
        "modbot/defaults/env.example",
        "modbot/defaults/hashes/known-bad.sha256",
        "modbot/defaults/hashes/known-bad.phash",
        "modbot/defaults/hashes/innocent.phash",
        "modbot/modes/demo_data/astronaut.jpg",
        "modbot/modes/report.html",
        "fakelemmy/fake.py",
        "classifier/safety_concepts.json",
    ):
        assert needed in names, needed
    assert not any(n.startswith("tests/") for n in names)

    # A fresh venv that sees this environment's dependencies but not its editable modbot
    # (a path in a .pth file is added as it is; the .pth files in it are not run).
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))",
                    cwd=tmp_path).strip())  # fmt: skip
    (site / "test-env.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    where = run(python, "-c", "import modbot; print(modbot.__file__)", cwd=tmp_path)
    assert where.startswith(str(site)), where

    bot = tmp_path / "mybot"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODBOT_", "LEMMY_"))}
    out = run(venv / "bin" / "modbot", "init", bot, cwd=tmp_path, env=env)
    assert f"wrote {bot / 'rules.yaml'}" in out
    assert (bot / ".env").is_file() and (bot / "hashes" / "known-bad.sha256").is_file()
    checked = run(venv / "bin" / "modbot", "check-rules", cwd=bot, env=env)
    assert "rules.yaml" in checked

    out = run(venv / "bin" / "modbot", "demo", "--test-model", cwd=bot, env=env)
    assert (bot / "modbot-demo-report.html").is_file()
    assert (bot / "modbot-demo-report.json").is_file()
    assert "source checkout" not in out
