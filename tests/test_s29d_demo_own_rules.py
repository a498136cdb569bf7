"""`modbot demo --rules FILE` with an admin's own rules, as `modbot init` wrote them and
the admin edited them.

Before: the demo ran a copy of the file in a temporary folder. A mistake in the file was
reported at the copy's path (/tmp/modbot-demo-xxxx/policy/rules.yaml:48, gone once the
demo ended), and a `classifier.checkpoint` written relative to the file, as rules.yaml
says it may be, was looked for beside the copy: not found, so the demo dropped the
admin's own weights for the random test model and said "no real weights found". Now the
file is read where it is (only the known-bad list, with the demo image added, is a
copy)."""

from __future__ import annotations

import json
import re

import pytest

from modbot.cli import main
from modbot.starter import write_starter


@pytest.fixture
def mine(tmp_path):
    write_starter(tmp_path / "mine")
    return tmp_path / "mine" / "rules.yaml"


def demo(tmp_path, rules, capsys) -> tuple[int, str, str]:
    out = tmp_path / "out"
    status = main(["--env-file", "/dev/null", "demo", "--rules", str(rules), "--out-dir", str(out)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_a_mistake_in_the_rules_is_said_at_the_admins_file(tmp_path, mine, capsys):
    text = mine.read_text()
    mine.write_text(text.replace("\nclassifier:\n", "\nclassifier:\n  modle: ViT-L-14\n", 1))
    status, out, err = demo(tmp_path, mine, capsys)
    assert status == 1, out + err
    assert f"{mine}:" in err and "modle" in err, err
    assert "modbot-demo-" not in err, err  # no temporary copy's path
    assert not (tmp_path / "out").exists()
    assert "# modbot demo" not in (mine.parent / "hashes" / "known-bad.sha256").read_text()


def test_a_checkpoint_beside_the_rules_is_the_demos_model(tmp_path, mine, tiny, capsys):
    """The tiny model's tensors without the random-weights marker: an admin's own
    weights file, named relative to rules.yaml."""
    from safetensors.torch import load_file, save_file

    save_file(
        load_file(str(tiny.checkpoint)),
        str(mine.parent / "own.safetensors"),
        metadata={"format": "pt"},
    )
    text = re.sub(r"^  model: ViT-L-14\b", "  model: modbot-tiny", mine.read_text(), flags=re.M)
    text = re.sub(r"^  pretrained: openai\b", "  pretrained: null", text, flags=re.M)
    text = re.sub(r"^  checkpoint: null\b", "  checkpoint: own.safetensors", text, flags=re.M)
    text = re.sub(r"^  device: auto\b", "  device: cpu", text, flags=re.M)
    assert "checkpoint: own.safetensors" in text and "model: modbot-tiny" in text
    mine.write_text(text)
    status, out, err = demo(tmp_path, mine, capsys)
    assert status == 0, out + err
    assert "TEST MODEL" not in out and "RANDOM" not in out, out
    summary = json.loads((tmp_path / "out" / "modbot-demo-report.json").read_text())["summary"]
    assert summary["random_weights"] is False and summary["requests_that_changed_something"] == 0
    assert "known abusive image" in out
    # the admin's list is as it was: the demo image went into a copy
    assert "# modbot demo" not in (mine.parent / "hashes" / "known-bad.sha256").read_text()
