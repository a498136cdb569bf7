"""`modbot doctor` on `classifier.deepdanbooru: auto` (the default) when the file is in
none of the places `auto` looks.

Before: the classifier line said "ok" with nothing of it, while `modbot run` warned at
start that the anime second pass is OFF (an image CLIP calls anime then gets CLIP's
verdict only: no explicit rating to make it nsfw, or, with a child, csam). Now doctor
warns of it, saying where to put the file or to write `off` to mean it."""

from __future__ import annotations

import re

import pytest
from support.policies import write_rules

from modbot.cli import main


@pytest.fixture
def doctor(fake_lemmy, tiny, tmp_path, monkeypatch, capsys):
    """`modbot doctor` on the fake with an admin's own (not random) weights and
    ``deepdanbooru`` as given: (exit status, the classifier's line)."""
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

    def run(deepdanbooru: str) -> tuple[int, str]:
        rules = write_rules(tmp_path, fake_lemmy, tiny)
        classifier = (
            f"{{model: modbot-tiny, pretrained: null, checkpoint: {real}, device: cpu, "
            f"deepdanbooru: {deepdanbooru}}}"
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


def test_auto_without_the_file_is_a_warning_that_the_anime_pass_is_off(doctor, tmp_path):
    status, line = doctor("auto")
    assert status == 0, line  # a warning: run starts
    assert line.startswith("warn") and "own.safetensors" in line, line
    assert "the anime second pass is OFF" in line, line
    assert str(tmp_path / "hf" / "model-resnet_custom_v3.pt") in line  # where auto looked
    assert "classifier.deepdanbooru: off" in line  # to mean it


def test_off_is_ok(doctor, tmp_path):
    status, line = doctor("off")
    assert status == 0 and line.startswith("ok") and "DeepDanbooru" not in line, line
    # `auto` with a file: what run makes of it (test_s33c_doctor_deepdanbooru_unusable)
