"""`modbot hash IMAGE...`: every kind of hash, in the formats lists and tools read."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from modbot.cli import main
from modbot.hashes import HASH_KINDS, HashList, perceptual_hash
from modbot.threatexchange_files import read_local_file

DATA = Path(__file__).parent / "data"
COFFEE = DATA / "coffee.jpg"
# ThreatExchange-style PDQ of coffee.jpg (docs/hash-sharing.md, tests/test_pdq.py)
COFFEE_PDQ = "00629e769e66365cb983b8668827f27c21a779e61e36e1f8c79927e67c8299e0"


def flat_png(tmp_path: Path) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (128, 128, 128)).save(out, "PNG")
    path = tmp_path / "flat.png"
    path.write_bytes(out.getvalue())
    return path


def test_every_kind_of_every_image(capsys: pytest.CaptureFixture[str]) -> None:
    data = COFFEE.read_bytes()
    assert main(["hash", str(COFFEE)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"sha256  {hashlib.sha256(data).hexdigest()}  {COFFEE}",
        f"md5     {hashlib.md5(data).hexdigest()}  {COFFEE}",
        f"sha1    {hashlib.sha1(data).hexdigest()}  {COFFEE}",
        f"phash   {perceptual_hash(data)}  {COFFEE}",
        f"pdq     {COFFEE_PDQ}  {COFFEE}  # quality 100",
    ]


@pytest.mark.parametrize("kind", list(HASH_KINDS))
def test_one_kind_prints_a_list_file_of_that_kind(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = [DATA / f"{n}.jpg" for n in ("coffee", "china")]
    assert main(["hash", "--kind", kind, *map(str, images)]) == 0
    listed = tmp_path / f"list.{kind}"
    listed.write_text(capsys.readouterr().out)
    hl = HashList.load(listed, kind)
    assert len(hl) == 2
    for image in images:
        digest = HASH_KINDS[kind].compute(image.read_bytes())
        assert hl.lookup({kind: digest.hex}) is not None


def test_json_and_what_could_not_be_hashed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    flat = flat_png(tmp_path)
    code = main(["hash", "--format", "json", str(COFFEE), str(text), str(flat), "missing.jpg"])
    assert code == 1
    out = capsys.readouterr()
    rows = json.loads(out.out)
    assert [r["file"] for r in rows] == [str(COFFEE), str(text), str(flat), "missing.jpg"]
    assert rows[0]["hashes"]["pdq"] == COFFEE_PDQ and rows[0]["pdq_quality"] == 100
    assert rows[0]["errors"] == {}
    # Not an image: the digests of the bytes, and why there is no perceptual hash.
    assert list(rows[1]["hashes"]) == ["sha256", "md5", "sha1"]
    assert rows[1]["errors"]["pdq"] == "not an image format Pillow can read"
    # A flat image: a PDQ of quality 0, shown, flagged as matching nothing.
    assert rows[2]["pdq_quality"] == 0 and "pdq" in rows[2]["hashes"]
    assert rows[3]["errors"] == {"file": "no such file"}
    assert f"modbot hash: {text}: no pdq: not an image format Pillow can read" in out.err
    assert "modbot hash: missing.jpg: no such file" in out.err

    assert main(["hash", "--kind", "pdq", str(flat)]) == 0
    assert capsys.readouterr().out.endswith("  # quality 0: below 50, matches nothing\n")


def test_threatexchange_format_is_a_local_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = [str(DATA / f"{n}.jpg") for n in ("coffee", "china")]
    assert main(["hash", "--format", "threatexchange", *images, str(flat_png(tmp_path))]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[0] == f"pdq {COFFEE_PDQ}"
    assert len(read_local_file(out.out).of_kind("pdq")) == 2
    assert "flat.png: left out: PDQ quality 0 is below 50" in out.err
    with pytest.raises(SystemExit):
        main(["hash", "--kind", "crc32", images[0]])
    assert main(["hash", "--format", "threatexchange", "--kind", "md5", images[0]]) == 2
    assert "pdq hashes only" in capsys.readouterr().err
