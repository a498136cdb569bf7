"""`modbot classify FOLDER` where a folder in it cannot be listed (a pict-rs store's
folder owned by pict-rs' user, mode 700): pathlib's rglob passes such a folder over
without a word, so its images were silently not classified, the run exiting 0 (or, for
the top folder, saying "no image to classify" as if it were empty). The folder is
named on stderr with why, and the exit status is 1 (some input could not be read)."""

from __future__ import annotations

import io
import os
from concurrent.futures import Future

from PIL import Image

from classifier.verdict import Verdict
from modbot.cli import build_parser
from modbot.cli import classify as command


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (20, 120, 220)).save(out, "JPEG")
    return out.getvalue()


class StandIn:
    random_weights = False

    def submit(self, data: bytes) -> Future:
        future: Future = Future()
        future.set_result(Verdict((), {"nsfw": -0.1}, {}, {}, "stand-in", False, "v1"))
        return future

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def refuse_listing(monkeypatch, *refused) -> None:
    """os.scandir of these folders raises as for a folder without read permission (the
    tests may run as root, whom no mode stops)."""
    real = os.scandir
    refused_paths = {os.fspath(p) for p in refused}

    def scandir(path="."):
        if os.fspath(path) in refused_paths:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def run(monkeypatch, *argv: str) -> int:
    monkeypatch.delenv("MODBOT_RULES", raising=False)
    monkeypatch.setattr(command, "_engine_from_options", lambda args: StandIn())
    args = build_parser().parse_args(["classify", "--model", "stand-in", *argv])
    return args.func(args)


def test_a_subfolder_that_cannot_be_listed_is_named_and_fails_the_run(
    monkeypatch, tmp_path, capsys
):
    store = tmp_path / "files"
    (store / "open").mkdir(parents=True)
    (store / "closed").mkdir()
    (store / "open" / "a.jpg").write_bytes(jpeg())
    (store / "closed" / "b.jpg").write_bytes(jpeg())
    refuse_listing(monkeypatch, store / "closed")

    status = run(monkeypatch, str(store))
    out, err = capsys.readouterr()
    assert f"{store / 'open' / 'a.jpg'}: no labels" in out
    assert f"cannot list {store / 'closed'}: Permission denied" in err
    assert status == 1, "as --help says: some input could not be read"


def test_a_folder_given_that_cannot_be_listed_is_not_said_to_be_empty(
    monkeypatch, tmp_path, capsys
):
    store = tmp_path / "files"
    store.mkdir()
    (store / "a.jpg").write_bytes(jpeg())
    refuse_listing(monkeypatch, store)

    status = run(monkeypatch, str(store))
    _, err = capsys.readouterr()
    assert f"cannot list {store}: Permission denied" in err
    assert "no image to classify" not in err
    assert status == 1
