"""`modbot doctor` on a DeepDanbooru weights file it finds but `modbot run` cannot use.

Before: with `classifier.deepdanbooru: auto` and a file in the Hugging Face cache cut
short, an error page saved under its name or another network's weights, `run` says the
file cannot be used and leaves the anime second pass off (faa5de4), while doctor said
"ok ... DeepDanbooru at PATH" as if the pass were on. The same file named by its path
stops `run`, and test weights where they are not allowed stop it even under `auto`:
doctor said ok to both. Now doctor says what `run` will do: a warning naming the file
and why under `auto`, a failure where `run` refuses to start."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from support.policies import write_rules

from classifier.deepdanbooru import RANDOM_WEIGHTS_KEY, WEIGHTS_FILE, write_random_weights
from modbot.cli import main

TAGS = ["rating:safe", "rating:questionable", "rating:explicit", "bikini", "realistic"]


def _cut_short(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _error_page(path: Path) -> None:
    path.write_bytes(b"<html><body>rate limited</body></html>")


def _another_network(path: Path) -> None:
    state = torch.load(str(path), weights_only=True)
    state["n_Conv_5.weight"] = torch.zeros(3, 3, 1, 1)
    torch.save(state, str(path))


SPOILT = {"cut-short": _cut_short, "error-page": _error_page, "another-network": _another_network}


@pytest.fixture
def doctor(fake_lemmy, tiny, tmp_path, monkeypatch, capsys):
    """`modbot doctor` on the fake with an admin's own (not random) CLIP weights, and
    ``deepdanbooru``/``allow_random_weights`` as given: (exit status, classifier line)."""
    from safetensors.torch import load_file, save_file

    for key, value in {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "HF_HOME": str(tmp_path / "hf"),
        "HOME": str(tmp_path / "home"),
    }.items():
        monkeypatch.setenv(key, value)
    for name in ("TRANSFORMERS_CACHE", "AIWORKER_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    real = tmp_path / "own.safetensors"
    save_file(load_file(str(tiny.checkpoint)), str(real), metadata={"format": "pt"})

    def run(deepdanbooru: str | Path, allow_random: bool = False) -> tuple[int, str]:
        rules = write_rules(tmp_path, fake_lemmy, tiny)
        classifier = (
            f"{{model: modbot-tiny, pretrained: null, checkpoint: {real}, device: cpu, "
            f"allow_random_weights: {str(allow_random).lower()}, deepdanbooru: {deepdanbooru}}}"
        )
        text = re.sub(r"classifier: \{[^}]*\}\n", f"classifier: {classifier}\n", rules.read_text())
        rules.write_text(text)
        status = main(
            ["--env-file", "/dev/null", "doctor", "--timeout", "3", "--rules", str(rules)]
        )
        out = capsys.readouterr().out
        (line,) = [x for x in out.splitlines() if x.split()[1:2] == ["classifier"]]
        return status, line

    return run


@pytest.mark.parametrize("how", sorted(SPOILT))
def test_auto_with_a_file_run_cannot_use_warns_that_the_anime_pass_is_off(doctor, tmp_path, how):
    weights = write_random_weights(tmp_path / "hf" / WEIGHTS_FILE, TAGS)
    SPOILT[how](weights)
    status, line = doctor("auto", allow_random=True)
    assert status == 0, line  # run starts, without the pass
    assert line.startswith("warn"), line
    assert f"{weights} is not a DeepDanbooru weights file" in line, line  # which, and why
    assert "the anime second pass is OFF" in line, line  # what run will do
    assert "classifier.deepdanbooru: off" in line, line  # to mean it
    assert f"DeepDanbooru at {weights}" not in line, line


def test_the_same_file_named_by_its_path_fails_as_run_refuses_it(doctor, tmp_path):
    weights = write_random_weights(tmp_path / "w" / WEIGHTS_FILE, TAGS)
    _error_page(weights)
    status, line = doctor(weights, allow_random=True)
    assert status == 1, line
    assert line.startswith("FAIL"), line
    assert f"classifier.deepdanbooru: {weights} is not a DeepDanbooru weights file" in line
    assert "`modbot run` refuses to start" in line, line


def test_test_weights_where_they_are_not_allowed_fail_even_under_auto(doctor, tmp_path):
    weights = write_random_weights(tmp_path / "hf" / WEIGHTS_FILE, TAGS)
    status, line = doctor("auto")
    assert status == 1 and line.startswith("FAIL"), line
    assert f"{weights} holds random DeepDanbooru weights" in line, line
    assert "`modbot run` refuses to start" in line, line
    status, line = doctor("auto", allow_random=True)  # allowed: run warns, so does doctor
    assert status == 0 and line.startswith("warn"), line
    assert "RANDOM WEIGHTS" in line and str(weights) in line, line


def test_a_usable_file_not_the_published_one_is_named_as_run_warns_of_it(doctor, tmp_path):
    weights = write_random_weights(tmp_path / "hf" / WEIGHTS_FILE, TAGS)
    state = torch.load(str(weights), weights_only=True)
    del state[RANDOM_WEIGHTS_KEY]  # an admin's own DeepDanbooru weights
    torch.save(state, str(weights))
    status, line = doctor("auto")
    assert status == 0 and line.startswith("warn"), line
    assert f"DeepDanbooru at {weights}" in line and "not the published" in line, line
    assert "OFF" not in line, line
