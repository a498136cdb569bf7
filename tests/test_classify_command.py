"""`modbot classify` takes folders and, without model options, the classifier rules.yaml
describes (its model, checkpoint and custom concepts), as the bot would classify."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from support.policies import write_rules

from fakelemmy import FakeLemmy


def classify(cwd, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MODBOT_RULES"}
    return subprocess.run(
        [sys.executable, "-m", "modbot", "classify", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_folder_with_the_rules_yaml_beside_it(photos, tiny, tmp_path):
    with FakeLemmy() as lemmy:  # write_rules names a remote host; nothing is fetched
        write_rules(tmp_path, lemmy, tiny)
    folder = tmp_path / "images" / "nested"
    folder.mkdir(parents=True)
    (tmp_path / "images" / "a.jpg").write_bytes(photos[tiny.flagged])
    (folder / "b.JPEG").write_bytes(photos[tiny.others[0]])
    (folder / "notes.txt").write_text("not an image")

    done = classify(tmp_path, "images", "--json")
    assert done.returncode == 0, done.stderr
    assert "classifier from rules.yaml: modbot-tiny on cpu" in done.stderr
    assert "1 file(s) in the folders are not images: left out" in done.stderr
    verdicts = json.loads(done.stdout)  # the JSON alone: the note is on stderr
    assert [v["input"] for v in verdicts] == ["images/a.jpg", "images/nested/b.JPEG"]
    # the rules' custom concept was used, with its threshold: only the flagged photo fires
    assert ["probe" in v["labels"] for v in verdicts] == [True, False], verdicts
    assert all(v["random_weights"] for v in verdicts)


def test_model_options_win_over_the_rules(photos, tiny, tmp_path):
    with FakeLemmy() as lemmy:
        write_rules(tmp_path, lemmy, tiny)
    (tmp_path / "a.jpg").write_bytes(photos[tiny.flagged])
    done = classify(
        tmp_path,
        "a.jpg",
        "--json",
        "--model",
        "modbot-tiny",
        "--pretrained",
        "none",
        "--checkpoint",
        str(tiny.checkpoint),
        "--allow-random-weights",
        "--device",
        "cpu",
    )
    assert done.returncode == 0, done.stderr
    assert "classifier from" not in done.stderr
    (verdict,) = json.loads(done.stdout)
    assert "probe" not in verdict["scores"], "built-in concepts only"


def test_a_large_folder_in_chunks_and_an_oversized_file_refused(photos, tiny, tmp_path):
    """More files than one chunk (64) all get their line; a file over 64 MB is not read."""
    with FakeLemmy() as lemmy:
        write_rules(tmp_path, lemmy, tiny)
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(70):
        (folder / f"{i:03}.jpg").write_bytes(photos[tiny.others[0]])
    with open(folder / "zz-huge.jpg", "wb") as f:
        f.truncate(65 * 1024 * 1024)  # sparse: costs no disk
    done = classify(tmp_path, "many")
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("many/")]
    assert len(lines) == 71
    assert lines[-1] == "many/zz-huge.jpg: cannot read: larger than 64 MB: not read"
    assert all(": cannot read" not in line for line in lines[:70])
