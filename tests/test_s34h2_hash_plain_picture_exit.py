"""`modbot hash` on a picture of one colour all over (a blank upload, a solid banner)
exited 1, "could not be read", though it read and hashed it: such a picture has no pHash
since HASHING 6, a hash "not taken" as a PDQ below quality 50 is, which exits 0. Neither
the README nor --help named it among the causes of exit 1, and a script hashing a folder
for a list stopped on it. Now it exits 0, and says why the pHash is not there (stderr,
and the JSON row's `not_taken`)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from modbot.cli import main
from modbot.hashes import ImageHashError, perceptual_hash


def _plain(tmp_path: Path) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    path = tmp_path / "red.png"
    path.write_bytes(out.getvalue())
    return path


def test_a_plain_picture_hashes_with_exit_status_0_and_says_why_no_phash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    red = _plain(tmp_path)
    assert main(["hash", str(red)]) == 0
    out = capsys.readouterr()
    kinds = [line.split()[0] for line in out.out.splitlines()]
    assert kinds == ["sha256", "md5", "sha1", "pdq"], out.out
    assert f"modbot hash: {red}: no phash: a picture of one colour all over" in out.err


def test_the_json_row_says_it_not_taken_not_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    red = _plain(tmp_path)
    assert main(["hash", "--format", "json", "--kind", "phash", str(red)]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["hashes"] == {} and row["errors"] == {}
    assert "one colour" in row["not_taken"]["phash"], row


def test_an_unreadable_file_still_exits_1(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    assert main(["hash", "--kind", "phash", str(text), str(_plain(tmp_path))]) == 1


def test_the_not_taken_error_is_an_image_hash_error() -> None:
    """Every caller that catches ImageHashError (the bot's acquire, the gate) goes on
    catching it: the subclass only tells `modbot hash` it is no failure."""
    from modbot.hashes import HashNotTaken

    out = io.BytesIO()
    Image.new("L", (32, 32), 255).save(out, "PNG")
    with pytest.raises(HashNotTaken) as caught:
        perceptual_hash(out.getvalue())
    assert isinstance(caught.value, ImageHashError)
