"""Hostile and awkward image files, made in memory (never written to disk).

Each function returns bytes, deterministically. Serve them from the fake's remote host
(`lemmy.add_remote_file(...)`, or `add_remote_behaviour(...)` for a lying content type),
upload them (`lemmy.add_upload(...)`), or hand them to the classifier directly.
"""

from __future__ import annotations

import io
import struct
import zlib

MB = 1024 * 1024


def jpeg(width: int = 64, height: int = 64, color: tuple[int, int, int] = (200, 30, 30),
         quality: int = 85) -> bytes:
    """A small valid JPEG with a gradient (so distinct colors give distinct hashes)."""
    from PIL import Image

    image = Image.new("RGB", (width, height), color)
    pixels = image.load()
    for x in range(width):
        for y in range(0, height, max(1, height // 8)):
            pixels[x, y] = ((color[0] + x) % 256, (color[1] + y) % 256, color[2])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def truncated_jpeg(source: bytes | None = None, keep: float = 0.5) -> bytes:
    """A JPEG cut off part-way: the header is valid, the scan data ends early, no EOI."""
    data = source if source is not None else jpeg(256, 256)
    return data[: max(200, int(len(data) * keep))]


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG declaring `width`×`height` pixels (10 gigapixels by default) in a few kB.

    The IHDR is honest about the size, the IDAT holds a short run of zero rows: a
    decoder that trusts the header allocates gigabytes; a careful one refuses it.
    """
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    row = b"\0" * (width + 1)  # filter byte + pixels
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(64)) + compressor.flush(
        zlib.Z_SYNC_FLUSH)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def large_file(size: int = 30 * MB) -> bytes:
    """A `size`-byte file that starts as a valid JPEG (padding after its end marker):
    only a size cap stops a downloader from taking all of it."""
    head = jpeg(64, 64)
    return head + b"\0" * max(0, size - len(head))


def _frames(count: int, size: int):
    from PIL import Image

    return [
        Image.new("RGB", (size, size), ((60 * i) % 256, (120 + 40 * i) % 256, (200 - 30 * i) % 256))
        for i in range(count)
    ]


def animated_gif(frames: int = 4, size: int = 64) -> bytes:
    images = _frames(frames, size)
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def animated_webp(frames: int = 4, size: int = 64) -> bytes:
    images = _frames(frames, size)
    out = io.BytesIO()
    images[0].save(out, "WEBP", save_all=True, append_images=images[1:], duration=100,
                   loop=0, lossless=True)
    return out.getvalue()


def svg() -> bytes:
    """An SVG with a script and an external reference into the private network."""
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        b' width="64" height="64">\n'
        b'  <script>alert(document.cookie)</script>\n'
        b'  <image xlink:href="http://169.254.169.254/latest/meta-data/" width="64" '
        b'height="64"/>\n'
        b'  <rect width="64" height="64" fill="red"/>\n'
        b'</svg>\n'
    )


def html_page() -> bytes:
    """An HTML page, as a host answers where an image should be (serve it as image/jpeg)."""
    return (
        b"<!DOCTYPE html>\n<html><head><title>Just a moment...</title></head>"
        b"<body><h1>Checking your browser</h1><img src=\"/cat.jpg\"></body></html>\n"
    )


def zero_byte() -> bytes:
    return b""


ALL = {
    "truncated_jpeg": truncated_jpeg,
    "png_bomb": png_bomb,
    "large_file": large_file,
    "animated_gif": animated_gif,
    "animated_webp": animated_webp,
    "svg": svg,
    "html_page": html_page,
    "zero_byte": zero_byte,
}
