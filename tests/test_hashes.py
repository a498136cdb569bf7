"""Hash lists: SHA-256 and perceptual hashes, list files, and the hashing helper."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pytest
from PIL import Image

from modbot.config.files import UnusableFile
from modbot.hashes import (
    HashList,
    HashListError,
    ImageHashError,
    hamming,
    perceptual_hash,
    sha256_hex,
)

DATA = Path(__file__).parent / "data"
PHOTOS = ["astronaut", "chelsea", "coffee", "china", "grace_hopper"]


def photo(name: str) -> bytes:
    return (DATA / f"{name}.jpg").read_bytes()


def reencode(
    data: bytes, size: tuple[int, int] | None = None, fmt: str = "JPEG", quality: int = 40
) -> bytes:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    if size:
        img = img.resize(size, Image.Resampling.BILINEAR)
    out = io.BytesIO()
    img.save(out, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return out.getvalue()


def test_sha256_hex():
    assert sha256_hex(b"test") == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.mark.parametrize("name", PHOTOS)
def test_phash_survives_resize_recompression_and_format(name: str):
    original = photo(name)
    h = perceptual_hash(original)
    assert len(h) == 16 and int(h, 16) >= 0
    w, ht = Image.open(io.BytesIO(original)).size
    copies = [
        reencode(original, (w // 2, ht // 2)),  # half size
        reencode(original, (120, int(120 * ht / w))),  # thumbnail
        reencode(original, quality=15),  # heavy recompression
        reencode(original, fmt="PNG"),  # lossless, other format
        reencode(original, fmt="WEBP"),
    ]
    for copy in copies:
        assert sha256_hex(copy) != sha256_hex(original)
        assert hamming(h, perceptual_hash(copy)) <= 4


def test_different_photos_are_far_apart():
    hashes = {n: perceptual_hash(photo(n)) for n in PHOTOS}
    for a, b in itertools.combinations(PHOTOS, 2):
        assert hamming(hashes[a], hashes[b]) > 16, (a, b)


def test_phash_of_pil_image_and_modes():
    data = reencode(photo("chelsea"), fmt="PNG")
    img = Image.open(io.BytesIO(data))
    assert perceptual_hash(img) == perceptual_hash(data)
    h = perceptual_hash(data)
    for mode in ("L", "RGBA", "P"):
        assert hamming(h, perceptual_hash(img.convert(mode))) <= 4


@pytest.mark.parametrize("data", [b"", b"<html>not an image</html>", photo("coffee")[:200]])
def test_unreadable_bytes_raise_image_hash_error(data: bytes):
    with pytest.raises(ImageHashError):
        perceptual_hash(data)


def test_sha256_list_file(tmp_path: Path):
    a, b = sha256_hex(b"a"), sha256_hex(b"b")
    path = tmp_path / "bad.sha256"
    path.write_text(f"# header\n\n{a}\n  {b.upper()}   # noted 2026-11-02\n")
    hl = HashList.load(path, "sha256")
    assert len(hl) == 2 and hl.name == "bad"
    assert hl.match(a) and hl.match(b) and hl.match(b.upper())
    assert not hl.match(sha256_hex(b"c")) and not hl.match(None)
    assert hl.explain(a) == "sha256"


def test_sha256sum_output_is_a_list(tmp_path: Path):
    path = tmp_path / "bad.sha256"
    path.write_text(f"{sha256_hex(b'a')}  removed/post-12.jpg\n{sha256_hex(b'b')} *odd name.png\n")
    hl = HashList.load(path, "sha256")
    assert len(hl) == 2 and hl.match(sha256_hex(b"b"))


def test_a_binary_file_is_one_problem_at_its_first_nul_byte(tmp_path: Path):
    path = tmp_path / "oops.sha256"
    data = (DATA / "china.jpg").read_bytes()
    path.write_bytes(data)
    with pytest.raises(UnusableFile) as info:
        HashList.load(path, "sha256")
    assert str(info.value) == "binary content (a NUL byte), not text: is this a hash list?"
    assert info.value.line == data[: data.find(b"\0")].count(b"\n") + 1


def test_a_file_of_wrong_lines_gives_a_short_list_of_problems(tmp_path: Path):
    path = tmp_path / "oops.sha256"
    path.write_text("".join(f"line {i} of some other file\n" for i in range(200)))
    with pytest.raises(HashListError) as info:
        HashList.load(path, "sha256")
    assert len(info.value.problems) == 21
    assert info.value.problems[-1][2].startswith("... and ")


def test_phash_list_file_matches_within_max_distance(tmp_path: Path):
    h = perceptual_hash(photo("astronaut"))
    path = tmp_path / "similar.phash"
    path.write_text(f"# near copies\n{h}\n")
    hl = HashList.load(path, "phash", max_distance=4)
    copy = perceptual_hash(reencode(photo("astronaut"), (200, 200)))
    assert hl.match(None, copy)
    assert hl.explain("ab" * 32, copy) == f"phash distance {hamming(h, copy)}"
    assert not hl.match(None, perceptual_hash(photo("coffee")))
    flipped = f"{int(h, 16) ^ 0b11111:016x}"  # 5 bits off
    assert hl.distance(flipped) == 5 and not hl.match(None, flipped)
    assert HashList.load(path, "phash", max_distance=5).match(None, flipped)
    assert not hl.match(sha256_hex(photo("astronaut")), None)  # a phash list ignores sha256


def test_malformed_lines_are_reported_with_their_lines(tmp_path: Path):
    path = tmp_path / "bad.sha256"
    path.write_text(
        f"# ok\n{sha256_hex(b'a')}\nxyz\n{'0' * 16}\n{sha256_hex(b'b')} {sha256_hex(b'c')}\n"
    )
    with pytest.raises(HashListError) as info:
        HashList.load(path, "sha256", shown_as="lists/bad.sha256")
    assert [(f, line) for f, line, _ in info.value.problems] == [
        ("lists/bad.sha256", 3),
        ("lists/bad.sha256", 4),
        ("lists/bad.sha256", 5),
    ]
    assert str(info.value).splitlines()[0] == (
        "lists/bad.sha256:3: expected a SHA-256 (64 hex digits), got 'xyz'"
    )
    phash_path = tmp_path / "p.phash"
    phash_path.write_text(f"{sha256_hex(b'a')}\n")
    with pytest.raises(HashListError, match=r"p.phash:1: .*this looks like a SHA-256"):
        HashList.load(phash_path, "phash", 4)


# `str(imagehash.phash(Image.open(path)))` with imagehash 4.3.2: lists made with that
# library (as other moderation tools do) must match here bit for bit.
IMAGEHASH_4_3_2 = {
    "astronaut": "c2924c5532bddfc8",
    "chelsea": "b15fe6465121175e",
    "coffee": "bb8320376c0f3637",
    "china": "9db8c2c7445dbb24",
    "grace_hopper": "9d8a745883d71ea5",
}


@pytest.mark.parametrize("name", PHOTOS)
def test_phash_is_the_imagehash_library_phash(name: str):
    assert perceptual_hash(photo(name)) == IMAGEHASH_4_3_2[name]


def test_phash_refuses_bombs_and_odd_formats_before_decoding():
    bomb = io.BytesIO()
    Image.new("L", (9_000, 9_000)).save(bomb, "PNG")  # 81 megapixels, tiny file
    with pytest.raises(ImageHashError, match="9000x9000 is over the 64 megapixel cap"):
        perceptual_hash(bomb.getvalue())
    ico = io.BytesIO()
    Image.new("RGB", (32, 32)).save(ico, "ICO")
    with pytest.raises(ImageHashError, match="ICO is not an image format modbot reads"):
        perceptual_hash(ico.getvalue())
