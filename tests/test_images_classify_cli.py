"""`modbot classify` in-process with a stand-in classifier (no model loaded): --json's
stdout is JSON alone, and a classifier that refuses an image or stops answering ends the
command with what it did, the inputs it did not classify, and the documented status."""

from __future__ import annotations

import io
import json
from concurrent.futures import Future

from PIL import Image

from classifier.verdict import Verdict
from modbot.cli import build_parser
from modbot.cli import classify as command


def jpeg(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, "JPEG")
    return out.getvalue()


class StandIn:
    """An engine whose answer to each image's bytes is a verdict or an error."""

    random_weights = False

    def __init__(self, answers: dict[bytes, Exception | None]):
        self.answers = answers

    def submit(self, data: bytes) -> Future:
        future: Future = Future()
        error = self.answers.get(data)
        if error is None:
            future.set_result(Verdict((), {"nsfw": -0.1}, {}, {}, "stand-in", False, "v1"))
        else:
            future.set_exception(error)
        return future

    def classify_many(self, items) -> list[Verdict]:  # as the engines have it
        return [self.submit(data).result() for data in items]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def run(monkeypatch, engine, *argv: str) -> int:
    monkeypatch.delenv("MODBOT_RULES", raising=False)
    monkeypatch.setattr(command, "_engine_from_options", lambda args: engine)
    args = build_parser().parse_args(["classify", "--model", "stand-in", *argv])
    return args.func(args)


def test_json_output_is_json_alone_when_a_folder_has_other_files(monkeypatch, tmp_path, capsys):
    (tmp_path / "a.jpg").write_bytes(jpeg((200, 0, 0)))
    (tmp_path / "notes.txt").write_text("not an image")
    assert run(monkeypatch, StandIn({}), str(tmp_path), "--json") == 0
    out, err = capsys.readouterr()
    (verdict,) = json.loads(out)
    assert verdict["input"] == str(tmp_path / "a.jpg")
    assert "1 file(s) in the folders are not images: left out" in err
