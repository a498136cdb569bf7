"""`modbot doctor` on the model: the random-weights test model (a checkpoint marked so, no
weights at all, or remote workers running it) is never "ok": a warning that its verdicts
mean nothing and what to configure instead; a failure where `modbot run` would refuse it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.policies import write_rules
from support.worker import TOKEN

from modbot.cli import main


@pytest.fixture
def doctor(fake_lemmy, monkeypatch, capsys):
    """`modbot doctor --rules RULES` on the fake: (exit status, the classifier's line,
    all the output)."""
    lemmy = fake_lemmy
    for key, value in {
        "LEMMY_URL": lemmy.url,
        "LEMMY_USERNAME": "modbot",
        "LEMMY_PASSWORD": "pw",
        "PICTRS_URL": lemmy.pictrs_url,
        "PICTRS_API_KEY": lemmy.pictrs_api_key,
        "MODBOT_ENV_FILE": "/dev/null",
        "HF_HUB_OFFLINE": "1",
    }.items():
        monkeypatch.setenv(key, value)

    def run(rules: Path) -> tuple[int, str, str]:
        status = main(["doctor", "--timeout", "3", "--rules", str(rules)])
        captured = capsys.readouterr()
        (line,) = [x for x in captured.out.splitlines() if x.split()[1:2] == ["classifier"]]
        return status, line, captured.out + captured.err

    return run


def with_classifier(rules: Path, classifier: str) -> Path:
    text = re.sub(r"classifier: \{[^}]*\}\n", f"classifier: {classifier}\n", rules.read_text())
    rules.write_text(text)
    return rules


def test_the_random_test_checkpoint_is_a_warning_that_says_so(fake_lemmy, tiny, tmp_path, doctor):
    rules = write_rules(tmp_path, fake_lemmy, tiny)  # tiny.safetensors, allow_random_weights
    status, line, out = doctor(rules)
    assert status == 0, out
    assert line.startswith("warn") and "tiny.safetensors holds RANDOM WEIGHTS" in line, line
    assert "every verdict is meaningless" in line
    assert "model: ViT-L-14, pretrained: openai" in line, "what to configure instead"


def test_without_allow_random_weights_it_fails_as_run_would(
    fake_lemmy, tiny, photos, tmp_path, doctor, capsys
):
    rules = with_classifier(
        write_rules(tmp_path, fake_lemmy, tiny),
        f"{{model: modbot-tiny, pretrained: null, checkpoint: {tiny.checkpoint}, device: cpu}}",
    )
    status, line, out = doctor(rules)
    assert status == 1, out
    assert line.startswith("FAIL") and "RANDOM WEIGHTS" in line
    assert "`modbot run` refuses to start as it is" in line
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(photos[tiny.flagged])
    assert main(["classify", "--rules", str(rules), str(photo)]) != 0
    assert "random weights" in capsys.readouterr().err, "what doctor foretells"


def test_no_weights_at_all_is_the_same_warning(fake_lemmy, tiny, tmp_path, doctor):
    rules = with_classifier(
        write_rules(tmp_path, fake_lemmy, tiny),
        "{model: modbot-tiny, pretrained: null, device: cpu, allow_random_weights: true}",
    )
    status, line, out = doctor(rules)
    assert status == 0, out
    assert line.startswith("warn") and "no weights are asked for: RANDOM WEIGHTS" in line


def test_a_checkpoint_of_real_weights_is_ok(fake_lemmy, tiny, tmp_path, doctor):
    """The same tensors without the test marker: what a user's own checkpoint is."""
    from safetensors.torch import load_file, save_file

    real = tmp_path / "own.safetensors"
    save_file(load_file(str(tiny.checkpoint)), str(real), metadata={"format": "pt"})
    rules = with_classifier(
        write_rules(tmp_path, fake_lemmy, tiny),
        # off: without its file, `auto` is a warning of its own (test_s29d_doctor_deepdanbooru)
        f"{{model: modbot-tiny, pretrained: null, checkpoint: {real}, device: cpu, "
        "deepdanbooru: off}",
    )
    status, line, out = doctor(rules)
    assert status == 0, out
    assert line.startswith("ok") and "own.safetensors" in line and "RANDOM" not in line


def test_remote_workers_running_the_test_model_fail_unless_allowed(
    fake_lemmy, tiny, worker, tmp_path, doctor, monkeypatch
):
    # as a local model's random weights: `run` would refuse to start on them
    rules = with_classifier(
        write_rules(tmp_path, fake_lemmy, tiny), f'\n  remote: {{urls: ["{worker.url}"]}}'
    )
    monkeypatch.setenv("MODBOT_CLASSIFIER_TOKEN", TOKEN)
    status, line, out = doctor(rules)
    assert status == 1, out
    assert line.startswith("FAIL") and "RANDOM WEIGHTS" in line, line
    assert "classifier.allow_random_weights: true" in line
    # allowed (a test): a warning that says so
    rules = with_classifier(
        write_rules(tmp_path, fake_lemmy, tiny),
        f'\n  allow_random_weights: true\n  remote: {{urls: ["{worker.url}"]}}',
    )
    status, line, out = doctor(rules)
    assert status == 0, out
    assert line.startswith("warn") and "workers answer, but run" in line, line
    assert "RANDOM WEIGHTS" in line and "modbot-tiny" in line


def test_remote_workers_that_do_not_answer_as_workers_fail(
    fake_lemmy, tiny, worker, tmp_path, doctor, monkeypatch
):
    """A URL that answers 404 (not a worker), or nothing: `run` would classify nothing."""
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class NotAWorker(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_error(404)

        def log_message(self, *args):
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), NotAWorker)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    not_worker = f"http://127.0.0.1:{site.server_address[1]}"
    monkeypatch.setenv("MODBOT_CLASSIFIER_TOKEN", TOKEN)
    try:
        rules = write_rules(tmp_path, fake_lemmy, tiny)
        with_classifier(
            rules,
            f'\n  allow_random_weights: true\n  remote: {{urls: ["{not_worker}", "{closed}"]}}',
        )
        status, line, out = doctor(rules)
        assert status == 1, out
        assert line.startswith("FAIL") and "no classifier worker answers" in line, line
        assert f"{not_worker}: answered 404" in line and f"{closed}: cannot connect" in line

        rules = write_rules(tmp_path, fake_lemmy, tiny)
        with_classifier(
            rules,
            f'\n  allow_random_weights: true\n  remote: {{urls: ["{worker.url}", "{closed}"]}}',
        )
        status, line, out = doctor(rules)
        assert status == 0, out
        assert line.startswith("warn") and f"these do not answer: {closed}" in line, line
        assert worker.url not in line.partition("these do not answer")[2]
    finally:
        site.shutdown()


def test_a_deepdanbooru_file_that_is_not_there_fails_as_run_would(
    fake_lemmy, tiny, tmp_path, doctor
):
    missing = tmp_path / "model-resnet_custom_v3.pt"
    rules = with_classifier(
        write_rules(tmp_path, fake_lemmy, tiny),
        f"{{model: modbot-tiny, pretrained: null, checkpoint: {tiny.checkpoint}, device: cpu, "
        f"allow_random_weights: true, deepdanbooru: {missing}}}",
    )
    status, line, out = doctor(rules)
    assert status == 1, out
    assert (
        line.startswith("FAIL")
        and f"classifier.deepdanbooru: DeepDanbooru weights {missing}" in line
    )
