"""A CUDA device this machine lacks is refused with what to give instead, by every
command that loads the model, not by `modbot doctor` alone. Before, `--device cuda:3`
on a machine with one GPU passed `resolve_device` (only doctor counted the GPUs), and
`modbot worker`, `modbot classify` and `modbot run` stopped at the model's load on
torch's own error (a traceback). The torch here is CPU-only: one GPU is made up by
patching torch.cuda, which is as far as the model's load gets before it refuses."""

from __future__ import annotations

import pytest
import torch
from support.policies import write_rules

from modbot.cli import main

ONE_GPU = (
    "device 'cuda:3' asked for, but torch sees 1 CUDA GPU here (cuda:0 to cuda:0): "
    "give one of those, or cpu"
)


@pytest.fixture
def one_gpu(monkeypatch):
    """torch says it has one CUDA GPU (no call reaches it: the device is refused first)."""
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


def worker(checkpoint, device: str) -> int:
    argv = ["worker", "--no-auth", "--model", "modbot-tiny", "--pretrained", "none"]
    argv += ["--checkpoint", str(checkpoint), "--device", device, "--allow-random-weights"]
    return main([*argv, "--deepdanbooru", "off", "--listen", "127.0.0.1:0"])


def test_worker_refuses_a_gpu_number_this_machine_lacks(one_gpu, tiny_checkpoint, capsys):
    assert worker(tiny_checkpoint, "cuda:3") == 1
    err = capsys.readouterr().err
    assert f"modbot worker: the classifier cannot start: {ONE_GPU}" in err, err
    assert "Traceback" not in err


def test_worker_refuses_cuda_on_a_cpu_only_torch(tiny_checkpoint, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert worker(tiny_checkpoint, "cuda") == 1
    err = capsys.readouterr().err
    assert "device 'cuda' asked for, but torch sees no CUDA GPU here" in err, err
    assert "give cpu" in err, err


def test_classify_refuses_a_gpu_number_this_machine_lacks(one_gpu, tiny_checkpoint, photos,
                                                         tmp_path, capsys):  # fmt: skip
    image = tmp_path / "photo.jpg"
    image.write_bytes(photos["coffee"])
    argv = ["classify", "--model", "modbot-tiny", "--pretrained", "none", "--checkpoint"]
    argv += [str(tiny_checkpoint), "--device", "cuda:3", "--allow-random-weights", str(image)]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert ONE_GPU in err, err
    assert "Traceback" not in err


def test_run_refuses_the_rules_gpu_number_and_doctor_says_the_same(
    one_gpu, fake_lemmy, tiny, tmp_path, monkeypatch, capsys
):
    path = write_rules(tmp_path, fake_lemmy, tiny)
    text = path.read_text()
    assert "device: cpu" in text
    path.write_text(text.replace("device: cpu", "device: 'cuda:3'", 1))
    for key, value in {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "MODBOT_RULES": str(path),
    }.items():
        monkeypatch.setenv(key, value)
    assert main(["--env-file", "/dev/null", "run", "--once", "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert ONE_GPU in err, err
    assert "Traceback" not in err

    assert main(["--env-file", "/dev/null", "doctor", "--timeout", "3"]) == 1
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.split()[1:2] == ["classifier"]]
    assert line.startswith("FAIL") and f"classifier.device: {ONE_GPU}" in line, line
