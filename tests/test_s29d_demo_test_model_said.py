"""Why `modbot demo` runs the random-weights test model, said truly.

Before: the banner always read "no real ViT-L-14/openai weights found": with
--test-model too (the admin asked for it; real weights may well be cached), and when
the rules name another model (ViT-B-32/openai: those were the weights not found). Now
it says which of the two it is, naming the weights the rules ask for."""

from __future__ import annotations

import re

import pytest

from modbot.cli import main
from modbot.starter import write_starter


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    for name in ("HF_HOME", "HF_HUB_CACHE"):
        monkeypatch.setenv(name, str(tmp_path / "hf"))


def banner(out: str) -> str:
    """The boxed banner's text, in one line."""
    lines = [line.strip("! ") for line in out.splitlines() if line.startswith("! ")]
    return " ".join(" ".join(lines).split())


def test_test_model_asked_for_is_not_said_to_be_for_want_of_weights(tmp_path, capsys):
    status = main(["--env-file", "/dev/null", "demo", "--test-model", "--out-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0, out
    said = banner(out)
    assert said.startswith("TEST MODEL (--test-model)") and "RANDOM weights" in said, said
    assert "found" not in said, said


def test_the_weights_not_found_are_the_ones_the_rules_ask_for(tmp_path, capsys, empty_cache):
    write_starter(tmp_path / "mine")
    rules = tmp_path / "mine" / "rules.yaml"
    text = re.sub(r"^  model: ViT-L-14\b", "  model: ViT-B-32", rules.read_text(), flags=re.M)
    rules.write_text(text)
    out_dir = str(tmp_path / "out")
    status = main(["--env-file", "/dev/null", "demo", "--rules", str(rules), "--out-dir", out_dir])
    out = capsys.readouterr().out
    assert status == 0, out
    said = banner(out)
    assert "no ViT-B-32/openai weights on this machine" in said and "RANDOM weights" in said, said
    assert "ViT-L-14" not in said
