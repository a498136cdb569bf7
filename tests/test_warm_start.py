"""`modbot classify --prepare`: the text embeddings computed once, before the first
start (the Dockerfile runs it at build time), so the bot's first poll does not wait."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modbot(*args: str, cache: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MODBOT_TEXT_CACHE_DIR": str(cache), "MODBOT_RULES": ""}
    return subprocess.run(
        [sys.executable, "-m", "modbot", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cwd,
    )


def rules_for(tmp_path: Path, checkpoint: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(f"""
classifier: {{model: modbot-tiny, pretrained: null, checkpoint: {checkpoint},
             device: cpu, allow_random_weights: true}}
rules: []
""")
    return path


def test_prepare_caches_the_text_embeddings_the_next_start_reads(tiny_checkpoint, tmp_path):
    cache = tmp_path / "text-embeddings"
    rules = rules_for(tmp_path, tiny_checkpoint)
    photo = ROOT / "tests" / "data" / "chelsea.jpg"

    prepared = modbot(
        "-v", "classify", "--prepare", "--rules", str(rules), cache=cache, cwd=tmp_path
    )
    assert prepared.returncode == 0, prepared.stderr
    assert "prepared: modbot-tiny/random-weights" in prepared.stdout
    assert str(cache) in prepared.stdout
    assert "computing text embeddings" in prepared.stderr
    assert len(list(cache.glob("*.safetensors"))) == 1

    # the next start (here a classification) reads them: nothing computed again
    after = modbot("-v", "classify", "--rules", str(rules), str(photo), cache=cache, cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    assert "computing text embeddings" not in after.stderr
    version = re.search(r"concept version (\S+)\)", prepared.stdout).group(1)
    assert (cache / f"{version}.safetensors").is_file()


def test_prepare_takes_no_images(tiny_checkpoint, tmp_path):
    rules = rules_for(tmp_path, tiny_checkpoint)
    done = modbot(
        "classify", "--prepare", "--rules", str(rules), "x.jpg", cache=tmp_path, cwd=tmp_path
    )
    assert done.returncode == 1
    assert "--prepare takes no images" in done.stderr


def test_the_image_prepares_after_the_code_and_the_policy_are_in():
    """The Dockerfile's prepare step runs the installed modbot on the shipped policy."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    prepare = next(i for i, line in enumerate(lines) if "classify --prepare" in line)
    code = next(i for i, line in enumerate(lines) if "pip install --no-deps" in line)
    policy = next(i for i, line in enumerate(lines) if line.endswith("/etc/modbot/rules.yaml"))
    assert code < prepare and policy < prepare
    assert "--rules /etc/modbot/rules.yaml" in lines[prepare]
    env = next(line for line in lines if line.startswith("ENV MODBOT_TEXT_CACHE_DIR="))
    assert lines.index(env) < prepare


def test_prepare_fails_when_the_embeddings_cannot_be_cached(tiny_checkpoint, tmp_path):
    """Before, `--prepare` said "cached in DIR" and exited 0 when the cache could not be
    written: a Docker build went on, and every container computed them at its start."""
    rules = rules_for(tmp_path, tiny_checkpoint)
    (tmp_path / "a-file").write_text("")
    cache = tmp_path / "a-file" / "text-embeddings"  # no directory can be made there
    prepared = modbot("classify", "--prepare", "--rules", str(rules), cache=cache, cwd=tmp_path)
    assert prepared.returncode == 1, prepared.stdout
    assert "prepared:" not in prepared.stdout
    assert "cannot write text-embedding cache" in prepared.stderr
    assert "could not be cached in " + str(cache) in prepared.stderr
    assert "MODBOT_TEXT_CACHE_DIR" in prepared.stderr
