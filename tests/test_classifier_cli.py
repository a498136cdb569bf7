"""`modbot classify` through its real entry point."""

import json
import os
import subprocess
import sys
import time

import pytest
from PIL import Image

from classifier.tiny import write_random_checkpoint


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("classify")
    Image.new("RGB", (300, 200), (200, 30, 30)).save(root / "red.jpg")
    Image.new("RGB", (1200, 100), (30, 30, 200)).save(root / "strip.png")
    (root / "page.jpg").write_text("<!doctype html><html><body>not found</body></html>")
    return root, write_random_checkpoint(root / "tiny.safetensors")


def modbot(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "modbot", "classify", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
    )


def tiny(checkpoint):
    return [
        "--model",
        "modbot-tiny",
        "--pretrained",
        "none",
        "--checkpoint",
        checkpoint,
        "--device",
        "cpu",
    ]


def test_json_output_has_every_score_and_the_model_identity(files, tmp_path):
    root, checkpoint = files
    env = {**os.environ, "MODBOT_TEXT_CACHE_DIR": str(tmp_path)}
    result = modbot(
        root / "red.jpg",
        root / "strip.png",
        *tiny(checkpoint),
        "--allow-random-weights",
        "--json",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert [o["input"] for o in out] == [str(root / "red.jpg"), str(root / "strip.png")]
    for o in out:
        assert o["model"] == "modbot-tiny/random-weights" and o["random_weights"] is True
        assert set(o["scores"]) == {"subject", "underage", "nsfw", "anime", "csam"}
        assert len(o["prompt_scores"]) > 200 and o["unreadable"] is None
    assert out[1]["regions"] > 1  # the strip is covered by tiles
    assert "RANDOM WEIGHTS" in result.stderr
    assert list(tmp_path.glob("*.safetensors"))  # text embeddings went to the given cache


def test_human_output_and_unreadable_inputs(files, tmp_path):
    root, checkpoint = files
    env = {**os.environ, "MODBOT_TEXT_CACHE_DIR": str(tmp_path)}
    result = modbot(
        root / "red.jpg",
        root / "page.jpg",
        root / "missing.png",
        *tiny(checkpoint),
        "--allow-random-weights",
        env=env,
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert (
        lines[0].startswith(f"{root / 'red.jpg'}: ")
        and "top scores:" in lines[0]
        and "1 region)" in lines[0]
    )
    assert lines[1] == f"{root / 'page.jpg'}: unreadable: not an image: an HTML page"
    assert lines[2] == f"{root / 'missing.png'}: cannot read: No such file or directory"
    assert "RANDOM WEIGHTS" in lines[3]


def test_random_weights_refused_without_the_flag(files):
    root, checkpoint = files
    result = modbot(root / "red.jpg", *tiny(checkpoint))
    assert result.returncode == 2
    assert "random weights" in result.stderr and "--allow-random-weights" in result.stderr
    assert result.stdout == ""


def test_default_model_without_weights_fails_fast(files, tmp_path):
    root, _ = files
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf")}
    start = time.monotonic()
    result = modbot(root / "red.jpg", env=env)
    elapsed = time.monotonic() - start
    assert result.returncode == 2
    assert "ViT-L-14/openai weights are not in the Hugging Face cache" in result.stderr
    assert "hf download" in result.stderr
    assert elapsed < 30, (
        elapsed
    )  # includes starting Python and importing torch; a guard against retries


def test_urls_are_fetched_into_memory(files, tmp_path):
    import functools
    import http.server
    import threading

    root, checkpoint = files
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        env = {**os.environ, "MODBOT_TEXT_CACHE_DIR": str(tmp_path)}
        result = modbot(
            f"{base}/red.jpg",
            f"{base}/missing.jpg",
            *tiny(checkpoint),
            "--allow-random-weights",
            "--json",
            env=env,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 1, result.stderr
    ok, missing = json.loads(result.stdout)
    assert ok["input"] == f"{base}/red.jpg" and ok["unreadable"] is None and ok["regions"] == 1
    assert missing["input"] == f"{base}/missing.jpg" and "404" in missing["error"]
