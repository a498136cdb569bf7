"""`modbot doctor` on a fresh install: the model's weights not yet in the Hugging Face
cache, which `modbot run` (report, sweep) downloads at its first start.

Before: a failure ("some checks failed", exit status 1) whether or not that download
could happen, so `modbot init`'s next step, `modbot doctor && modbot report ...`, never
reached the report on a machine where everything else was right; the report would have
downloaded them. Now it is a warning when the download can happen (HF_HUB_OFFLINE not
set, the Hugging Face endpoint answers from here), a failure when it cannot, saying
which; the device is still checked."""

from __future__ import annotations

import socket

import pytest
from support.policies import write_rules

from modbot.cli import main


@pytest.fixture
def doctor(fake_lemmy, tiny, tmp_path, monkeypatch, capsys):
    """`modbot doctor` with ViT-B-32/openai (on no machine here) and an empty cache."""
    for key, value in {
        "LEMMY_URL": fake_lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "MODBOT_STATE": str(tmp_path / "state.sqlite3"),
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_CACHE": str(tmp_path / "hf" / "hub"),
    }.items():
        monkeypatch.setenv(key, value)
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    rules = write_rules(tmp_path, fake_lemmy, tiny)
    text = rules.read_text()
    start = text.index("classifier: {")
    end = text.index("}\n", start) + 2
    rules.write_text(
        text[:start]
        + "classifier: {model: ViT-B-32, pretrained: openai, device: cpu, deepdanbooru: off}\n"
        + text[end:]
    )

    def run(endpoint: str) -> tuple[int, str]:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        status = main(
            ["--env-file", "/dev/null", "doctor", "--timeout", "3", "--rules", str(rules)]
        )
        out = capsys.readouterr().out
        (line,) = [x for x in out.splitlines() if x.split()[1:2] == ["classifier"]]
        assert not list((tmp_path / "hf").rglob("*.safetensors")), "nothing is downloaded"
        return status, line

    return run


def test_weights_the_first_start_can_download_are_a_warning(doctor, fake_lemmy):
    status, line = doctor(fake_lemmy.url)  # an endpoint that answers from here
    assert status == 0, line
    assert line.startswith("warn") and "ViT-B-32/openai weights are not in the" in line, line
    assert f"{fake_lemmy.url} answers from here" in line and "downloads them" in line, line
    assert "on the CPU (device: cpu)" in line, line  # the device is still checked


def test_weights_no_start_can_download_are_a_failure(doctor):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    status, line = doctor(closed)
    assert status == 1, line
    assert line.startswith("FAIL") and f"{closed} cannot be reached from here" in line, line
    assert "hf download" in line  # how to bring them here
