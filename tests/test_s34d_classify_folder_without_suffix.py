"""`modbot classify FOLDER` on a pict-rs file store: pict-rs before 0.5 (and files
migrated from it) keeps every upload under a bare UUID, with no file-name suffix. Such
files are images and must be classified, not left out as "not images" (fedi-safety
checks every file of the folder); a file that is not an image by its bytes is still
left out, whatever its name."""

from __future__ import annotations

import io
from concurrent.futures import Future

from PIL import Image

from classifier.verdict import Verdict
from modbot.cli import build_parser
from modbot.cli import classify as command


def encoded(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, fmt)
    return out.getvalue()


class StandIn:
    """A classifier that answers every image with the same clean verdict."""

    random_weights = False

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def submit(self, data: bytes) -> Future:
        self.seen.append(data)
        future: Future = Future()
        future.set_result(Verdict((), {"nsfw": -0.1}, {}, {}, "stand-in", False, "v1"))
        return future

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def test_a_pict_rs_store_s_files_without_a_suffix_are_classified(monkeypatch, tmp_path, capsys):
    store = tmp_path / "files" / "2023" / "11"
    store.mkdir(parents=True)
    # as pict-rs 0.4 names them: a UUID, no extension
    (store / "0b8e6c2e-6b0b-4b6e-9a4e-5f1c2d3e4f50").write_bytes(encoded("JPEG"))
    (store / "1c9f7d3f-7c1c-4c7f-8b5f-6a2d3e4f5a61").write_bytes(encoded("PNG"))
    (store / "2d0a8e4a-8d2d-4d8a-9c6a-7b3e4f5a6b72.webp").write_bytes(encoded("WEBP"))
    (store / "3e1b9f5b-9e3e-4e9b-8d7b-8c4f5a6b7c83").write_bytes(b"not an image at all")
    (tmp_path / "files" / "notes.txt").write_text("pict-rs notes")

    engine = StandIn()
    monkeypatch.delenv("MODBOT_RULES", raising=False)
    monkeypatch.setattr(command, "_engine_from_options", lambda args: engine)
    args = build_parser().parse_args(["classify", "--model", "stand-in", str(tmp_path / "files")])
    assert args.func(args) == 0
    out, err = capsys.readouterr()

    assert out.count(": no labels") == 3, out
    assert len(engine.seen) == 3
    for name in ("0b8e6c2e", "1c9f7d3f", "2d0a8e4a"):
        assert name in out
    assert "3e1b9f5b" not in out
    assert "2 file(s) in the folders are not images: left out" in err
