"""`modbot classify` in-process with a stand-in classifier (no model loaded): --json's
stdout is JSON alone, and a classifier that refuses an image or stops answering ends the
command with what it did, the inputs it did not classify, and the documented status."""

from __future__ import annotations

import io
import json
from concurrent.futures import Future

import pytest
from PIL import Image

from classifier.remote import ClassifierUnavailable, RemoteRequestRefused
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


def test_an_image_the_classifier_refuses_is_that_inputs_failure(monkeypatch, tmp_path, capsys):
    big, ok = jpeg((0, 0, 200)), jpeg((0, 200, 0))
    (tmp_path / "big.jpg").write_bytes(big)
    (tmp_path / "ok.jpg").write_bytes(ok)
    engine = StandIn({big: RemoteRequestRefused("http://w:8000: over its size limit (413)")})
    status = run(monkeypatch, engine, str(tmp_path / "big.jpg"), str(tmp_path / "ok.jpg"))
    out, _ = capsys.readouterr()
    assert status == 1
    assert f"{tmp_path / 'big.jpg'}: cannot read: the classifier refused it: http://w:8000" in out
    assert f"{tmp_path / 'ok.jpg'}: no labels" in out


@pytest.mark.parametrize("as_json", [False, True])
def test_a_classifier_that_stops_answering_exits_2_naming_what_was_left(
    monkeypatch, tmp_path, capsys, as_json
):
    first, second = jpeg((10, 10, 10)), jpeg((240, 240, 240))
    (tmp_path / "1.jpg").write_bytes(first)
    (tmp_path / "2.jpg").write_bytes(second)
    engine = StandIn({second: ClassifierUnavailable("http://w:8000: cannot connect")})
    argv = [str(tmp_path / "1.jpg"), str(tmp_path / "2.jpg")] + (["--json"] if as_json else [])
    status = run(monkeypatch, engine, *argv)
    out, err = capsys.readouterr()
    assert status == 2, "as --help says: the classifier could not be had"
    assert "the classifier stopped: no classifier worker answered: http://w:8000" in err
    assert f"1 input(s) not classified: {tmp_path / '2.jpg'}" in err
    if as_json:
        assert [v["input"] for v in json.loads(out)] == [str(tmp_path / "1.jpg")]
    else:
        assert f"{tmp_path / '1.jpg'}: no labels" in out
        assert "2.jpg" not in out


def test_a_malformed_url_is_that_inputs_failure_not_the_runs(monkeypatch, tmp_path, capsys):
    (tmp_path / "a.jpg").write_bytes(jpeg((120, 60, 30)))
    bad = ["http://[::1", "https://", "http://a.example:99999/x.jpg"]
    status = run(monkeypatch, StandIn({}), *bad, str(tmp_path / "a.jpg"))
    out, _ = capsys.readouterr()
    assert status == 1
    for url in bad:
        assert f"{url}: cannot read: bad_url: " in out
    assert f"{tmp_path / 'a.jpg'}: no labels" in out


def test_a_folder_gives_every_image_name_the_classifier_decodes(monkeypatch, tmp_path, capsys):
    for name in ("a.jfif", "b.pjpeg", "c.JPE", "d.apng", "e.png"):
        (tmp_path / name).write_bytes(jpeg((1, 2, 3)))
    (tmp_path / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    assert run(monkeypatch, StandIn({}), str(tmp_path)) == 0
    out, err = capsys.readouterr()
    assert out.count(": no labels") == 5
    assert "1 file(s) in the folders are not images: left out" in err


def test_a_video_is_refused_saying_only_still_images_are_classified(monkeypatch, tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64))
    assert run(monkeypatch, StandIn({}), str(clip)) == 1
    out, _ = capsys.readouterr()
    assert f"{clip}: cannot read: a video: only still images are classified" in out
    assert "its first frame only" in out
