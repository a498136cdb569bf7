"""`modbot doctor`'s classifier line says where the model will run and where images are
decoded (classifier.device, classifier.decode_processes), and fails a device this
machine does not have.

Before: the line named the weights only. `device: cuda` on a machine without a GPU
passed ("all checks passed") and `modbot run` then stopped at the model's load; and
an admin could not tell whether decoding would run in threads or in how many processes
(auto: one per core on a GPU, threads on a CPU)."""

from __future__ import annotations

import pytest
from support.policies import write_rules

from modbot.cli import main


@pytest.fixture
def rules(fake_lemmy, tiny, tmp_path, monkeypatch):
    path = write_rules(tmp_path, fake_lemmy, tiny)
    for key, value in {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "PICTRS_URL": fake_lemmy.pictrs_url,
        "PICTRS_API_KEY": fake_lemmy.pictrs_api_key,
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": str(path),
    }.items():
        monkeypatch.setenv(key, value)
    return path


def classifier_line(capsys) -> tuple[int, str, str]:
    status = main(["--env-file", "/dev/null", "doctor", "--timeout", "3"])
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.split()[1:2] == ["classifier"]]
    return status, line, out


def set_classifier(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_device_and_the_decoding_are_said(rules, capsys):
    status, line, out = classifier_line(capsys)
    assert status == 0, out
    assert line.startswith("warn") and "RANDOM WEIGHTS" in line  # the test model, as before
    assert line.endswith("; on the CPU (device: cpu), decoding in threads"), line

    set_classifier(rules, "allow_random_weights: true", "allow_random_weights: true, "
                   "decode_processes: 3")  # fmt: skip
    status, line, out = classifier_line(capsys)
    assert line.endswith("; on the CPU (device: cpu), decoding in 3 processes"), line


def test_a_gpu_this_machine_does_not_have_fails(rules, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    set_classifier(rules, "device: cpu", "device: cuda")
    status, line, out = classifier_line(capsys)
    assert status == 1 and out.endswith("some checks failed\n"), out
    assert line.startswith("FAIL"), line
    assert "device 'cuda' asked for, but torch sees no CUDA GPU here" in line, line

    set_classifier(rules, "device: cuda", "device: auto")  # auto on a CPU: threads
    status, line, out = classifier_line(capsys)
    assert status == 0, out
    assert line.endswith("; on the CPU (device: auto, no GPU here), decoding in threads"), line
