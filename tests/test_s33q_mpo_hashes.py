"""A JPEG holding more than one picture (Pillow's MPO: a 3-D camera's pair, the larger
preview many cameras add to their JPEGs) is classified, its pictures read as frames,
but its perceptual hashes were refused: "MPO is not an image format modbot reads". A
pHash or PDQ list never matched such a photo. It is now hashed by its first picture,
the JPEG it is (as imagehash and python-threatexchange hash it)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from classifier.preprocess import decode_image
from modbot.cli import main
from modbot.hashes import Digest, compute_all

DATA = Path(__file__).parent / "data"


def _pictures() -> tuple[bytes, bytes]:
    """The photo as an MPO with a second picture, and as a plain JPEG alone."""
    first = Image.open(DATA / "chelsea.jpg").convert("RGB")
    second = first.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    mpo, jpeg = io.BytesIO(), io.BytesIO()
    first.save(mpo, "MPO", save_all=True, append_images=[second], quality=90)
    first.save(jpeg, "JPEG", quality=90)
    return mpo.getvalue(), jpeg.getvalue()


def test_an_mpo_is_hashed_by_its_first_picture():
    mpo, jpeg = _pictures()
    assert Image.open(io.BytesIO(mpo)).format == "MPO"
    assert decode_image(mpo).regions  # the classifier reads it
    hashed = compute_all(mpo, ["phash", "pdq"])
    alone = compute_all(jpeg, ["phash", "pdq"])
    assert all(isinstance(d, Digest) for d in hashed.values()), hashed
    assert hashed == alone


def test_modbot_hash_prints_an_mpo_s_hashes(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    mpo, jpeg = _pictures()
    (tmp_path / "camera.jpg").write_bytes(mpo)
    (tmp_path / "alone.jpg").write_bytes(jpeg)
    assert main(["hash", "--kind", "phash", str(tmp_path / "camera.jpg")]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert main(["hash", "--kind", "phash", str(tmp_path / "alone.jpg")]) == 0
    assert line.split()[0] == capsys.readouterr().out.split()[0]
