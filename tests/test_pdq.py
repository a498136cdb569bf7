"""Hash kinds: PDQ (perceptual, 256 bits), MD5 and SHA-1 (exact), and the one interface
every kind has (`modbot.hashes`), with list files of each."""

from __future__ import annotations

import hashlib
import io
import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fakelemmy import hostile
from modbot import pdq
from modbot.hashes import (
    HASH_KINDS,
    Digest,
    HashFormatError,
    HashListError,
    ImageHashError,
    compute_all,
    hash_kind,
    load_list,
    perceptual_hash,
    sha256_hex,
)

DATA = Path(__file__).parent / "data"
PHOTOS = ["astronaut", "chelsea", "coffee", "china", "grace_hopper"]
PDQ = HASH_KINDS["pdq"]


def photo(name: str) -> bytes:
    return (DATA / f"{name}.jpg").read_bytes()


def reencode(data: bytes, width: int | None = None, fmt: str = "JPEG", quality: int = 60) -> bytes:
    """What pict-rs does to an upload: resized (optionally), re-encoded, metadata gone."""
    img = Image.open(io.BytesIO(data)).convert("RGB")
    if width:
        img = img.resize((width, round(width * img.height / img.width)), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    img.save(out, fmt, quality=quality)
    return out.getvalue()


def copies(data: bytes) -> dict[str, bytes]:
    width = Image.open(io.BytesIO(data)).width
    return {
        "half size, JPEG q60": reencode(data, width // 2),
        "128 px wide, WebP q50": reencode(data, 128, "WEBP", 50),
        "JPEG q15": reencode(data, quality=15),
        "3x larger, JPEG q90": reencode(data, width * 3, quality=90),
    }


@pytest.mark.parametrize("name", PHOTOS)
def test_pdq_matches_resized_and_recompressed_copies_within_the_default_distance(name: str):
    original = PDQ.compute(photo(name))
    assert original.quality >= 50 and original.usable
    index = PDQ.index([original.hex], payloads=[name])
    for what, data in copies(photo(name)).items():
        copy = PDQ.compute(data)
        found = index.lookup(copy)
        assert found is not None, f"{name}, {what}: {PDQ.distance(copy.hex, original.hex)} bits"
        assert found.payload == name and found.distance <= pdq.MATCH_DISTANCE == 31
        assert PDQ.matches(copy, original)


def test_pdq_misses_unrelated_photos():
    hashes = {name: PDQ.compute(photo(name)) for name in PHOTOS}
    for a, b in itertools.combinations(PHOTOS, 2):
        assert PDQ.distance(hashes[a].hex, hashes[b].hex) > 100, (a, b)
        assert not PDQ.matches(hashes[a], hashes[b])
    # A list of all but one photo (and its copies) never matches the one left out.
    for name in PHOTOS:
        others = PDQ.index([hashes[o].hex for o in PHOTOS if o != name])
        assert others.lookup(hashes[name]) is None
        for data in copies(photo(name)).values():
            assert others.lookup(PDQ.compute(data)) is None


def test_pdq_hex_is_threatexchanges_form():
    # astronaut is 512x512, so the 512 px shrink does nothing: this is the hash
    # python-threatexchange's `threatexchange hash photo` prints for it.
    h = pdq.pdq_hash(photo("astronaut"))
    assert h == pdq.PdqHash("2d6f1af3a956c529c79ca3d2526fa834d4196c81cedd04de0a26b855fc99b724", 100)
    # The first hex digit holds the top bits: flipping vector[0] changes it by 8.
    import pdqhash

    rgb = np.asarray(Image.open(io.BytesIO(photo("astronaut"))).convert("RGB"))
    vector, _ = pdqhash.compute(rgb)
    assert vector[0] == int(h.hex[0], 16) >> 3


def test_large_photos_are_shrunk_to_512_before_hashing():
    img = Image.open(io.BytesIO(photo("china"))).convert("RGB")
    img = img.resize((2000, 1334), Image.Resampling.BICUBIC)
    png = io.BytesIO()
    img.save(png, "PNG")
    shrunk = img.copy()
    shrunk.thumbnail((512, 512))
    assert shrunk.size == (512, 342)
    # Hashing the big file is hashing its 512 px thumbnail (Meta's pure-Python reference).
    assert pdq.pdq_hash(png.getvalue()) == pdq.pdq_hash(shrunk)
    big_jpeg = reencode(png.getvalue(), quality=95)  # JPEG: decoded at a reduced scale
    assert PDQ.distance(pdq.pdq_hash(big_jpeg).hex, pdq.pdq_hash(shrunk).hex) <= 8
    assert PDQ.matches(PDQ.compute(big_jpeg), PDQ.compute(photo("china")))


def test_a_low_quality_hash_is_shown_but_matches_nothing():
    flat = io.BytesIO()
    Image.new("RGB", (300, 200), (128, 128, 128)).save(flat, "PNG")
    digest = PDQ.compute(flat.getvalue())
    assert digest.quality < 50 and not digest.usable
    assert len(digest.hex) == 64  # still printed by `modbot hash`, marked as ignored
    # Not even its own hash: the reference discards it.
    assert PDQ.index([digest.hex]).lookup(digest) is None
    assert not PDQ.matches(digest, digest)
    # List entries: a known quality under 50 is dropped; no quality (plain lists,
    # python-threatexchange files) is kept.
    assert not PDQ.entry_usable(49)
    assert PDQ.entry_usable(50) and PDQ.entry_usable(None)


def test_palette_alpha_and_grey_images_hash_as_their_colours():
    rgb = Image.open(io.BytesIO(photo("chelsea"))).convert("RGB")
    reference = pdq.pdq_hash(rgb).hex
    variants = {
        "P": rgb.quantize(256),
        "RGBA": rgb.convert("RGBA"),
        "PNG": rgb,
    }
    for mode, img in variants.items():
        out = io.BytesIO()
        img.save(out, "PNG")
        assert PDQ.distance(pdq.pdq_hash(out.getvalue()).hex, reference) <= 12, mode
    # A large palette image (shrunk before hashing), as a file and as a PIL image: hashed
    # by its colours, not by its palette indices.
    big = rgb.resize((1353, 900), Image.Resampling.BICUBIC)
    big_reference = pdq.pdq_hash(big).hex
    out = io.BytesIO()
    big.quantize(256).save(out, "PNG")
    assert PDQ.distance(pdq.pdq_hash(out.getvalue()).hex, big_reference) <= 12
    assert PDQ.distance(pdq.pdq_hash(big.quantize(256)).hex, big_reference) <= 12
    grey = io.BytesIO()
    rgb.convert("L").save(grey, "JPEG", quality=90)
    assert pdq.pdq_hash(grey.getvalue()).quality >= 50


@pytest.mark.parametrize(
    "data, message",
    [
        (hostile.png_bomb(9_000, 9_000), "9000x9000 is over the 64 megapixel cap"),
        # past Pillow's own check too: the cap's words, not Pillow's
        (hostile.png_bomb(), "100000x100000 is over the 64 megapixel cap"),
        (hostile.html_page(), "not an image format Pillow can read"),
        (hostile.svg(), "not an image format Pillow can read"),
        (hostile.truncated_jpeg(keep=0.3), "not a readable image"),
        (b"", "not an image format Pillow can read"),
    ],
)
def test_pdq_refuses_bombs_and_unreadable_files_with_the_phash_rules(data: bytes, message: str):
    with pytest.raises(ImageHashError, match=message):
        pdq.pdq_hash(data)
    with pytest.raises(ImageHashError, match=message):
        PDQ.compute(data)
    if "megapixel cap" in message:  # the perceptual hash says a bomb the same way
        with pytest.raises(ImageHashError, match=message):
            perceptual_hash(data)


def test_pdq_refuses_formats_modbot_does_not_read():
    ico = io.BytesIO()
    Image.new("RGB", (32, 32)).save(ico, "ICO")
    with pytest.raises(ImageHashError, match="ICO is not an image format modbot reads"):
        pdq.pdq_hash(ico.getvalue())


def test_pdq_distance_is_configurable_within_bounds():
    assert PDQ.check_distance(None) == 31
    assert PDQ.check_distance(0) == 0 and PDQ.check_distance(64) == 64
    with pytest.raises(ValueError, match="pdq distance must be 0 to 64 bits, not 65"):
        PDQ.check_distance(65)
    a = PDQ.compute(photo("coffee"))
    b = PDQ.compute(copies(photo("coffee"))["128 px wide, WebP q50"])
    d = PDQ.distance(a.hex, b.hex)
    assert d > 0
    assert PDQ.matches(a, b, max_distance=d) and not PDQ.matches(a, b, max_distance=d - 1)
    assert PDQ.index([a.hex]).lookup(b, max_distance=d - 1) is None


# MD5 and SHA-1: exact, for industry lists in those formats.


def test_md5_and_sha1_are_the_digests_of_the_bytes():
    assert HASH_KINDS["md5"].compute(b"test") == Digest("md5", "098f6bcd4621d373cade4e832627b4f6")
    assert HASH_KINDS["sha1"].compute(b"test") == Digest(
        "sha1", "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
    )
    data = photo("coffee")
    assert HASH_KINDS["md5"].compute(data).hex == hashlib.md5(data).hexdigest()
    assert HASH_KINDS["sha1"].compute(data).hex == hashlib.sha1(data).hexdigest()


@pytest.mark.parametrize("name, tool", [("md5", hashlib.md5), ("sha1", hashlib.sha1)])
def test_exact_lists_match_the_same_bytes_only(tmp_path: Path, name: str, tool):
    bad, other = photo("coffee"), photo("china")
    listed = tmp_path / f"known-bad.{name}"
    # `md5sum`/`sha1sum` output, upper case, comments and blank lines.
    listed.write_text(
        f"# known-bad.{name}: from a hotline\n\n"
        f"{tool(bad).hexdigest().upper()}  coffee.jpg\n"
        f"{tool(b'something else').hexdigest()}  # a note\n"
    )
    index = load_list(listed, name)
    assert len(index) == 2
    found = index.lookup(HASH_KINDS[name].compute(bad))
    assert found is not None and found.distance == 0 and found.payload == 3  # its line
    assert index.lookup(HASH_KINDS[name].compute(other)) is None
    # One byte more, or the same picture re-encoded as pict-rs stores it: no match.
    assert index.lookup(HASH_KINDS[name].compute(bad + b"\0")) is None
    assert index.lookup(HASH_KINDS[name].compute(reencode(bad, quality=95))) is None


def test_exact_kinds_take_no_distance():
    for name in ("md5", "sha1", "sha256"):
        assert HASH_KINDS[name].check_distance(None) == 0 == HASH_KINDS[name].check_distance(0)
        with pytest.raises(ValueError, match=f"{name} matches exactly or not at all"):
            HASH_KINDS[name].check_distance(3)


def test_list_lines_with_the_wrong_kind_of_hash_are_named_with_a_hint(tmp_path: Path):
    md5 = hashlib.md5(b"a").hexdigest()
    sha1 = hashlib.sha1(b"a").hexdigest()
    listed = tmp_path / "list.md5"
    listed.write_text(
        f"{md5}\n{sha1}\npdq {'a' * 64}\n{md5} {md5}\nnot-a-hash\n{sha256_hex(b'a')}\n"
    )
    with pytest.raises(HashListError) as caught:
        load_list(listed, "md5", shown_as="hashes/list.md5")
    assert [(line, msg) for _, line, msg in caught.value.problems] == [
        (
            2,
            (
                f"expected an MD5 (32 hex digits), got {sha1!r} "
                "(this looks like a SHA-1: put it in a list of kind sha1)"
            ),
        ),
        (
            3,
            (
                "expected an MD5 (32 hex digits), got 'pdq' (this looks like a "
                "python-threatexchange local_file line '<signal_type> <hash>': in rules.yaml, "
                "give the list format: threatexchange and kind: pdq)"
            ),
        ),
        (4, f"one hash a line: '{md5} {md5}'"),
        (5, "expected an MD5 (32 hex digits), got 'not-a-hash'"),
        (
            6,
            (
                f"expected an MD5 (32 hex digits), got {sha256_hex(b'a')!r} "
                "(this looks like a SHA-256 or a PDQ hash: put it in a list of kind sha256 or pdq)"
            ),
        ),
    ]
    assert str(caught.value).startswith("hashes/list.md5:2: expected an MD5")


def test_a_pdq_list_file(tmp_path: Path):
    listed = tmp_path / "known-bad.pdq"
    h = PDQ.compute(photo("grace_hopper")).hex
    listed.write_text(f"# PDQ hashes, one a line\n{h.upper()}  grace_hopper.jpg\n")
    index = load_list(listed, PDQ)
    found = index.lookup(PDQ.compute(copies(photo("grace_hopper"))["half size, JPEG q60"]))
    assert found is not None and found.hex == h and found.payload == 2
    with pytest.raises(HashFormatError, match=r"expected a PDQ hash \(64 hex digits\)"):
        PDQ.parse("f" * 63)


# One interface for every kind.


def test_every_kind_has_the_one_interface():
    assert list(HASH_KINDS) == ["sha256", "md5", "sha1", "phash", "pdq"]
    data = photo("astronaut")
    for name, k in HASH_KINDS.items():
        assert hash_kind(name) is k and k.name == name
        assert k.cost in ("bytes", "decode") and (k.cost == "bytes") == k.exact
        digest = k.compute(data)
        assert digest.kind == name and len(digest.hex) == k.hex_digits and digest.usable
        assert k.parse(digest.hex.upper() + "  ") == digest.hex
        assert k.parse_line(f"{digest.hex}  astronaut.jpg # note") == digest.hex
        assert k.parse_line("   # only a comment") is None
        assert k.matches(digest, digest.hex)
        assert k.index([digest.hex], ["p"]).lookup(digest).payload == "p"
        assert k.default_distance == k.check_distance(None) <= k.max_distance
    with pytest.raises(ValueError, match="unknown hash kind 'crc32': one of sha256, md5"):
        hash_kind("crc32")


def test_sha256_and_phash_kinds_are_todays_functions():
    for name in PHOTOS:
        data = photo(name)
        assert HASH_KINDS["sha256"].compute(data).hex == sha256_hex(data)
        assert HASH_KINDS["phash"].compute(data).hex == perceptual_hash(data)
    assert HASH_KINDS["phash"].check_distance(None) == 6
    with pytest.raises(ValueError, match="phash distance must be 0 to 16 bits"):
        HASH_KINDS["phash"].check_distance(17)


def test_compute_all_gives_every_kind_and_the_decode_errors():
    every = compute_all(photo("coffee"))
    assert list(every) == ["sha256", "md5", "sha1", "phash", "pdq"]
    assert all(isinstance(d, Digest) for d in every.values())
    broken = compute_all(hostile.html_page())
    assert [n for n, d in broken.items() if isinstance(d, Digest)] == ["sha256", "md5", "sha1"]
    assert isinstance(broken["pdq"], ImageHashError) and isinstance(broken["phash"], ImageHashError)
    assert list(compute_all(b"x", ["pdq", "md5"])) == ["md5", "pdq"]  # cheap ones first


def test_a_lookup_of_another_kind_is_refused():
    index = PDQ.index([PDQ.compute(photo("coffee")).hex])
    with pytest.raises(ValueError, match="a sha256 hash looked up in a pdq list"):
        index.lookup(HASH_KINDS["sha256"].compute(photo("coffee")))
    assert index.lookup(None) is None
    assert PDQ.index([]).lookup(PDQ.compute(photo("coffee"))) is None
