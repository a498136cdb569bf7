"""``modbot.hashes.HASHING`` is raised by hand when the hashing code changes: the
known-files cache remembers a hash kind not taken of a file under the hashing code's
version (``hashing_version()``), and a change that takes it now is never tried on
those files unless HASHING moves. Nothing reminded the developer. This guard takes
every kind's hash of fixed images (photos, pictures drawn here in lossless formats,
and bytes that are no picture) and compares what comes out, a hash or "not taken",
with what was recorded for the current HASHING: a difference fails, saying to raise
HASHING and record the new fingerprints."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

import modbot.hashes
from modbot.hashes import HASH_KINDS, Digest, compute_all, hashing_version

DATA = Path(__file__).parent / "data"

# HASHING -> image -> the fingerprint of every kind's outcome on it (``outcomes``)
RECORDED: dict[int, dict[str, str]] = {
    1: {
        "astronaut": "4ef5b60c9ea2a2e7",
        "chelsea": "428e88c9b6c40664",
        "china": "b7b97e18e6620a77",
        "coffee": "f86f22f7be27f127",
        "grace_hopper": "269d5db00e1b2561",
        "gradient.png": "e25c793c7a1fa213",
        "noise.png": "18f78c45b70e3841",
        "flat.png": "4503c52e9874cc81",
        "rgba.png": "04d4d980a3aaad75",
        "deep.png": "192b800146ded69b",
        "one-pixel.png": "2821f3a142c5dac6",
        "tall.png": "1f4861c190c194fc",
        "gradient.gif": "72d602e7dfd51b37",
        "gradient.bmp": "e25c793c7a1fa213",
        "gradient.tiff": "e25c793c7a1fa213",
        "gradient.webp": "e25c793c7a1fa213",
        "photo-as-png": "a32b344b2ff2669e",
        "noise.jpg": "0257eaf00941b9cc",
        "over-the-cap.png": "112f0ebe09365c62",
        "truncated-jpeg": "cb6869405477db6a",
        "not-an-image": "b1ebc60d81399fa0",
        "no-pixels": "68a654caf3c4ab82",
        "empty": "01510e818bf3c53e",
    },
    # 2: a 16-bit grey image hashed by its top 8 bits, no longer clipped to white
    2: {
        "astronaut": "4ef5b60c9ea2a2e7",
        "chelsea": "428e88c9b6c40664",
        "china": "b7b97e18e6620a77",
        "coffee": "f86f22f7be27f127",
        "grace_hopper": "269d5db00e1b2561",
        "gradient.png": "e25c793c7a1fa213",
        "noise.png": "18f78c45b70e3841",
        "flat.png": "4503c52e9874cc81",
        "rgba.png": "04d4d980a3aaad75",
        "deep.png": "7d83298d8e28c03c",
        "one-pixel.png": "2821f3a142c5dac6",
        "tall.png": "1f4861c190c194fc",
        "gradient.gif": "72d602e7dfd51b37",
        "gradient.bmp": "e25c793c7a1fa213",
        "gradient.tiff": "e25c793c7a1fa213",
        "gradient.webp": "e25c793c7a1fa213",
        "photo-as-png": "a32b344b2ff2669e",
        "noise.jpg": "0257eaf00941b9cc",
        "over-the-cap.png": "112f0ebe09365c62",
        "truncated-jpeg": "cb6869405477db6a",
        "not-an-image": "b1ebc60d81399fa0",
        "no-pixels": "68a654caf3c4ab82",
        "empty": "01510e818bf3c53e",
    },
    # 3: float and 32-bit grey scaled to their largest value, no longer clipped
    3: {
        "astronaut": "4ef5b60c9ea2a2e7",
        "chelsea": "428e88c9b6c40664",
        "china": "b7b97e18e6620a77",
        "coffee": "f86f22f7be27f127",
        "grace_hopper": "269d5db00e1b2561",
        "gradient.png": "e25c793c7a1fa213",
        "noise.png": "18f78c45b70e3841",
        "flat.png": "4503c52e9874cc81",
        "rgba.png": "04d4d980a3aaad75",
        "deep.png": "7d83298d8e28c03c",
        "one-pixel.png": "2821f3a142c5dac6",
        "tall.png": "1f4861c190c194fc",
        "gradient.gif": "72d602e7dfd51b37",
        "gradient.bmp": "e25c793c7a1fa213",
        "gradient.tiff": "e25c793c7a1fa213",
        "gradient.webp": "e25c793c7a1fa213",
        "float.tiff": "ec6368d1545df164",
        "wide.tiff": "ec6368d1545df164",
        "photo-as-png": "a32b344b2ff2669e",
        "noise.jpg": "0257eaf00941b9cc",
        "over-the-cap.png": "112f0ebe09365c62",
        "truncated-jpeg": "cb6869405477db6a",
        "not-an-image": "b1ebc60d81399fa0",
        "no-pixels": "68a654caf3c4ab82",
        "empty": "01510e818bf3c53e",
    },
    # 4: the pHash's DCT rounded before its median: images with flat areas no longer
    # take their pHash bits from float noise (one fingerprint each, whatever numpy)
    4: {
        "astronaut": "4ef5b60c9ea2a2e7",
        "chelsea": "428e88c9b6c40664",
        "china": "b7b97e18e6620a77",
        "coffee": "f86f22f7be27f127",
        "grace_hopper": "269d5db00e1b2561",
        "gradient.png": "e25c793c7a1fa213",
        "noise.png": "18f78c45b70e3841",
        "flat.png": "624fdd43d44b4f19",
        "rgba.png": "5cef9a8a6210bf1e",
        "deep.png": "7d83298d8e28c03c",
        "one-pixel.png": "4bf631c8dd404b2f",
        "tall.png": "1f4861c190c194fc",
        "gradient.gif": "72d602e7dfd51b37",
        "gradient.bmp": "e25c793c7a1fa213",
        "gradient.tiff": "e25c793c7a1fa213",
        "gradient.webp": "e25c793c7a1fa213",
        "float.tiff": "ec6368d1545df164",
        "wide.tiff": "ec6368d1545df164",
        "photo-as-png": "a32b344b2ff2669e",
        "noise.jpg": "0257eaf00941b9cc",
        "over-the-cap.png": "112f0ebe09365c62",
        "truncated-jpeg": "cb6869405477db6a",
        "not-an-image": "b1ebc60d81399fa0",
        "no-pixels": "68a654caf3c4ab82",
        "empty": "01510e818bf3c53e",
    },
    # 5: an MPO (a JPEG holding more pictures) hashed by its first picture
    5: {
        "astronaut": "4ef5b60c9ea2a2e7",
        "chelsea": "428e88c9b6c40664",
        "china": "b7b97e18e6620a77",
        "coffee": "f86f22f7be27f127",
        "grace_hopper": "269d5db00e1b2561",
        "gradient.png": "e25c793c7a1fa213",
        "noise.png": "18f78c45b70e3841",
        "flat.png": "624fdd43d44b4f19",
        "rgba.png": "5cef9a8a6210bf1e",
        "deep.png": "7d83298d8e28c03c",
        "one-pixel.png": "4bf631c8dd404b2f",
        "tall.png": "1f4861c190c194fc",
        "gradient.gif": "72d602e7dfd51b37",
        "gradient.bmp": "e25c793c7a1fa213",
        "gradient.tiff": "e25c793c7a1fa213",
        "gradient.webp": "e25c793c7a1fa213",
        "float.tiff": "ec6368d1545df164",
        "wide.tiff": "ec6368d1545df164",
        "photo-as-png": "a32b344b2ff2669e",
        "photo.mpo": "3773014329388caa",
        "noise.jpg": "0257eaf00941b9cc",
        "over-the-cap.png": "112f0ebe09365c62",
        "truncated-jpeg": "cb6869405477db6a",
        "not-an-image": "b1ebc60d81399fa0",
        "no-pixels": "68a654caf3c4ab82",
        "empty": "01510e818bf3c53e",
    },
    # 6: a picture of one colour all over has no pHash ("not taken"), where all were
    # 8000000000000000
    6: {
        "astronaut": "4ef5b60c9ea2a2e7",
        "chelsea": "428e88c9b6c40664",
        "china": "b7b97e18e6620a77",
        "coffee": "f86f22f7be27f127",
        "grace_hopper": "269d5db00e1b2561",
        "gradient.png": "e25c793c7a1fa213",
        "noise.png": "18f78c45b70e3841",
        "flat.png": "cfb65b5cb7e716db",
        "rgba.png": "5cef9a8a6210bf1e",
        "deep.png": "7d83298d8e28c03c",
        "one-pixel.png": "e7f758ce8aaa694e",
        "tall.png": "1f4861c190c194fc",
        "gradient.gif": "72d602e7dfd51b37",
        "gradient.bmp": "e25c793c7a1fa213",
        "gradient.tiff": "e25c793c7a1fa213",
        "gradient.webp": "e25c793c7a1fa213",
        "float.tiff": "ec6368d1545df164",
        "wide.tiff": "ec6368d1545df164",
        "photo-as-png": "a32b344b2ff2669e",
        "photo.mpo": "3773014329388caa",
        "noise.jpg": "0257eaf00941b9cc",
        "over-the-cap.png": "112f0ebe09365c62",
        "truncated-jpeg": "cb6869405477db6a",
        "not-an-image": "b1ebc60d81399fa0",
        "no-pixels": "68a654caf3c4ab82",
        "empty": "01510e818bf3c53e",
    },
}


# The same code's outputs with other libraries (``hashing_version()`` names them), where
# they give other bits: an image with flat areas has DCT coefficients at the pHash's
# median, and float arithmetic rounds them apart. RECORDED's came from an earlier
# install's libraries (deploy/requirements.lock pins numpy 2.5.5); these from numpy
# 2.4.6, all a fresh install here was offered on 2026-12-05 (Pillow, pdqhash the same).
# From HASHING 4 the pHash rounds its DCT before the median, and those three images have
# one fingerprint whatever numpy (tests/test_s33q_phash_float_noise.py).
ALSO_RECORDED: dict[int, dict[str, str]] = {
    3: {
        "flat.png": "9090d2550672862c",
        "one-pixel.png": "7b5e287bdea455a8",
        "rgba.png": "6ba38dce2c8adba2",
    },
}


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` and that holds no pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )


def _saved(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _drawn() -> dict[str, Image.Image]:
    """Pictures made here, pixel for pixel the same on every machine."""
    y, x = np.mgrid[0:200, 0:300]
    gradient = np.stack([x * 255 // 299, y * 255 // 199, (x + y) * 255 // 498], -1)
    noise = np.random.RandomState(0).randint(0, 256, (256, 256), dtype=np.uint8)
    rgba = np.zeros((120, 160, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[30:90, 40:120] = (10, 220, 30, 255)
    rgba[..., 3] = np.where(rgba[..., 3] == 255, 255, (x[:120, :160] * 255 // 159))
    deep = (np.add.outer(np.arange(64), np.arange(96)) * 600).astype(np.uint16)
    return {
        "gradient": Image.fromarray(gradient.astype(np.uint8), "RGB"),
        "noise": Image.fromarray(noise, "L"),
        "flat": Image.new("RGB", (64, 64), (120, 120, 120)),
        "rgba": Image.fromarray(rgba, "RGBA"),
        "deep": Image.frombytes("I;16", (96, 64), deep.tobytes()),
        "one-pixel": Image.new("RGB", (1, 1), (255, 0, 0)),
        "tall": Image.fromarray(gradient.astype(np.uint8), "RGB").resize((20, 900)),
    }


def images() -> dict[str, tuple[bytes, tuple[str, ...]]]:
    """Name -> (the file's bytes, the kinds fingerprinted). A file encoded here is
    fingerprinted by the kinds that decode it only: its bytes are the encoder's (zlib's
    output may differ between builds), its pixels are not."""
    decoded = tuple(k for k, kind in HASH_KINDS.items() if kind.cost == "decode")
    every = tuple(HASH_KINDS)
    out = {path.stem: (path.read_bytes(), every) for path in sorted(DATA.glob("*.jpg"))}
    drawn = _drawn()
    for name, image in drawn.items():
        out[f"{name}.png"] = (_saved(image, "PNG"), decoded)
    out["gradient.gif"] = (_saved(drawn["gradient"].convert("P"), "GIF"), decoded)
    out["gradient.bmp"] = (_saved(drawn["gradient"], "BMP"), decoded)
    out["gradient.tiff"] = (_saved(drawn["gradient"], "TIFF"), decoded)
    out["gradient.webp"] = (_saved(drawn["gradient"], "WEBP", lossless=True), decoded)
    # float and 32-bit grey: TIFF holds them, PNG does not
    levels = np.asarray(drawn["gradient"].convert("L"))
    out["float.tiff"] = (_saved(Image.fromarray(levels / np.float32(255), "F"), "TIFF"), decoded)
    wide = Image.fromarray(levels.astype(np.int32) * 8_000_000, "I")
    out["wide.tiff"] = (_saved(wide, "TIFF"), decoded)
    out["photo-as-png"] = (_saved(Image.open(DATA / "chelsea.jpg"), "PNG"), decoded)
    # a JPEG holding two pictures (Pillow's MPO): hashed by its first since HASHING 5
    photo = Image.open(DATA / "chelsea.jpg").convert("RGB")
    second = photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    out["photo.mpo"] = (_saved(photo, "MPO", save_all=True, append_images=[second]), decoded)
    # fine detail: JPEG's reduced-scale decode (draft) shows in its hashes
    noise = np.random.RandomState(1).randint(0, 256, (1024, 1024), dtype=np.uint8)
    out["noise.jpg"] = (_saved(Image.fromarray(noise, "L"), "JPEG", quality=90), decoded)
    # over the 64-megapixel cap (refused from its header; decoded if the cap moved)
    out["over-the-cap.png"] = (_saved(Image.new("L", (8100, 8000)), "PNG"), decoded)
    # no picture: what each kind says of them (taken or not) is the code's too
    photo = (DATA / "astronaut.jpg").read_bytes()
    out["truncated-jpeg"] = (photo[: len(photo) // 3], every)
    out["not-an-image"] = (b"<html><body>not found</body></html>", every)
    out["no-pixels"] = (_png_header_only(9000, 9000), every)
    out["empty"] = (b"", every)
    return out


def outcomes(data: bytes, kinds: tuple[str, ...]) -> dict[str, object]:
    """Each kind's hash of ``data`` (hex, PDQ's quality, usable), or "not taken"."""
    said: dict[str, object] = {}
    for kind, digest in compute_all(data, kinds).items():
        if isinstance(digest, Digest):
            said[kind] = [digest.hex, digest.quality, digest.usable]
        else:
            said[kind] = "not taken"
    return dict(sorted(said.items()))


def fingerprints() -> dict[str, str]:
    return {
        name: hashlib.sha256(json.dumps(outcomes(data, kinds)).encode()).hexdigest()[:16]
        for name, (data, kinds) in images().items()
    }


def test_the_hashing_code_s_outputs_are_those_recorded_for_its_version():
    now = modbot.hashes.HASHING
    found = fingerprints()
    recorded = RECORDED.get(now)
    new = json.dumps(found, indent=4)
    assert recorded is not None, (
        f"HASHING is {now}: record the hashing code's outputs for it in RECORDED in "
        f"{Path(__file__).name}:\n{now}: {new}"
    )
    also = ALSO_RECORDED.get(now, {})
    changed = sorted(n for n in found if found[n] not in (recorded.get(n), also.get(n)))
    gone = sorted(set(recorded) - set(found))
    assert not changed and not gone, (
        f"The hashing code's outputs on fixed images differ from those recorded for "
        f"HASHING = {now}: {', '.join(changed + gone)}.\n"
        "If a change to the hashing code (modbot/hashes.py, modbot/pdq.py, what they "
        "decode with) made them differ, raise HASHING in modbot/hashes.py to "
        f"{now + 1}: the known-files cache then tries again every file whose hash it "
        "could not take before. Then record the new fingerprints in RECORDED in "
        f"{Path(__file__).name}, under {now + 1}:\n{new}\n"
        "If only a library changed (Pillow, numpy, pdqhash; here: "
        f"{hashing_version()}), hashing_version() names it already: record the new "
        f"fingerprints under {now} (as for another platform giving other bits)."
    )
