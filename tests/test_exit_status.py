"""What a command says and which exit status it ends with when something foreseeable is
wrong: one line saying what to do, never a traceback (modbot.errors, mapped to exit
statuses in one place)."""

import subprocess
import sys
from pathlib import Path


def modbot(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "modbot", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_demo_with_a_rules_file_that_is_not_there(tmp_path):
    done = modbot("demo", "--rules", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr, done.stderr
    assert (
        done.stderr.strip()
        == f"modbot demo: {tmp_path / 'nope.yaml'}: no such rules file (--rules)"
    )
    assert not list(tmp_path.glob("modbot-demo-report.*"))


def test_demo_with_a_rules_file_without_its_hash_lists(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: []\n")
    done = modbot("demo", "--rules", str(rules), cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr, done.stderr
    assert "has no sha256 hash list named 'known-bad'" in done.stderr, done.stderr
    assert "hash_lists: {known-bad: {kind: sha256, file: hashes/known-bad.sha256}}" in done.stderr
