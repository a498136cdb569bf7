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


def jpeg(
    width: int = 64,
    height: int = 64,
    color: tuple[int, int, int] = (200, 30, 30),
    quality: int = 85,
) -> bytes:
    """A small valid JPEG with a gradient (so distinct colors give distinct hashes)."""
    from PIL import Image

    image = Image.new("RGB", (width, height), color)
    pixels = image.load()
    assert pixels is not None  # a new image in memory
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
    """A PNG declaring `width` x `height` pixels (10 gigapixels by default) in a few kB.

    The IHDR is honest about the size, the IDAT holds a short run of zero rows: a
    decoder that trusts the header allocates gigabytes; a careful one refuses it.
    """

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    row = b"\0" * (width + 1)  # filter byte + pixels
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(64)) + compressor.flush(
        zlib.Z_SYNC_FLUSH
    )
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def large_file(size: int = 30 * MB) -> bytes:
    """A `size`-byte file: a whole 64x64 JPEG (`jpeg(64, 64)`), then zero padding after
    its end marker. A downloader without a cap takes all of it. modbot's fetcher stops at
    `fetch.max_bytes` and, the JPEG being whole within the cap, judges the JPEG on its
    own bytes without reading the padding past the cap (under the cap the whole file is
    the body); where a body is taken as sent (the gate, the worker) it is refused over
    their caps."""
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
    images[0].save(
        out, "WEBP", save_all=True, append_images=images[1:], duration=100, loop=0, lossless=True
    )
    return out.getvalue()


def svg() -> bytes:
    """An SVG with a script and an external reference into the private network."""
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
        b' width="64" height="64">\n'
        b"  <script>alert(document.cookie)</script>\n"
        b'  <image xlink:href="http://169.254.169.254/latest/meta-data/" width="64" '
        b'height="64"/>\n'
        b'  <rect width="64" height="64" fill="red"/>\n'
        b"</svg>\n"
    )


def html_page() -> bytes:
    """An HTML page, as a host answers where an image should be (serve it as image/jpeg)."""
    return (
        b"<!DOCTYPE html>\n<html><head><title>Just a moment...</title></head>"
        b'<body><h1>Checking your browser</h1><img src="/cat.jpg"></body></html>\n'
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


# --- image bombs: small files whose decoding costs much memory -----------------------
# Each is built without ever holding the decoded image: the compressed data of a
# uniform picture is streamed out. All decode correctly with Pillow (try a small size).


def _zeros_deflated(total: int, chunk: int = 1 << 20) -> bytes:
    """zlib stream of `total` zero bytes."""
    compressor = zlib.compressobj(9)
    block = b"\0" * min(chunk, max(total, 1))
    parts, left = [], total
    while left > 0:
        parts.append(compressor.compress(block[: min(left, len(block))]))
        left -= len(block)
    parts.append(compressor.flush())
    return b"".join(parts)


def _png(width: int, height: int, bit_depth: int, color_type: int, channels: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
        )

    row = 1 + width * channels * bit_depth // 8  # filter byte + samples
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", _zeros_deflated(row * height))
        + chunk(b"IEND", b"")
    )


def png_16bit(width: int = 8000, height: int = 8000) -> bytes:
    """A 16-bit greyscale PNG (Pillow mode I;16), at the 64-megapixel cap by default."""
    return _png(width, height, 16, 0, 1)


def png_rgba(width: int = 8000, height: int = 8000) -> bytes:
    """An 8-bit RGBA PNG, at the 64-megapixel cap by default (~250 KB)."""
    return _png(width, height, 8, 6, 4)


def _tiff(pages: list[tuple[int, int, int, int, int]]) -> bytes:
    """A little-endian TIFF; each page is (width, height, bits, samples, sample_format)
    of zeros in one deflate-compressed strip (sample_format 1: unsigned, 3: float)."""
    out = bytearray(b"II*\0\0\0\0\0")
    link = 4  # where the offset of the next IFD goes
    for width, height, bits, samples, sample_format in pages:
        strip = _zeros_deflated(width * height * samples * bits // 8)
        strip_at = len(out)
        out += strip
        if len(out) % 2:
            out += b"\0"
        bits_at = len(out)
        out += struct.pack(f"<{samples}H", *([bits] * samples)) + b"\0\0"
        photometric = 2 if samples >= 3 else 1
        entries = [
            (256, 4, 1, width),
            (257, 4, 1, height),
            (258, 3, samples, bits if samples <= 2 else bits_at),
            (259, 3, 1, 8),  # deflate
            (262, 3, 1, photometric),
            (273, 4, 1, strip_at),
            (277, 3, 1, samples),
            (278, 4, 1, height),
            (279, 4, 1, len(strip)),
        ]
        if samples in (2, 4):
            entries.append((338, 3, 1, 2))  # the last sample is (unassociated) alpha
        entries.append((339, 3, 1, sample_format))
        ifd_at = len(out)
        struct.pack_into("<I", out, link, ifd_at)
        out += struct.pack("<H", len(entries))
        for tag, kind, count, value in entries:
            if kind == 3 and count == 2:  # two shorts held in the entry itself
                out += struct.pack("<HHIHH", tag, kind, count, value, value)
            elif kind == 3 and count == 1:
                out += struct.pack("<HHIHH", tag, kind, count, value, 0)
            else:  # a long, or the offset of the shorts
                out += struct.pack("<HHII", tag, kind, count, value)
        link = len(out)
        out += b"\0\0\0\0"
    return bytes(out)


def tiff_huge_later_pages(later: int = 13000, pages: int = 3) -> bytes:
    """A multi-page TIFF whose first page is 64x64 and whose later pages are
    `later` x `later` greyscale (169 megapixels each by default; ~165 KB a page)."""
    return _tiff([(64, 64, 8, 1, 1)] + [(later, later, 8, 1, 1)] * (pages - 1))


def tiff_float(width: int = 8000, height: int = 8000) -> bytes:
    """A 32-bit float greyscale TIFF (Pillow mode F), at the 64-megapixel cap by default."""
    return _tiff([(width, height, 32, 1, 3)])


class _Bits:
    """LSB-first bit writer (GIF LZW codes, WebP lossless)."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = self.n = 0

    def put(self, value: int, bits: int) -> None:
        self.acc |= value << self.n
        self.n += bits
        while self.n >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.n -= 8

    def bytes(self) -> bytes:
        return bytes(self.out) + (bytes([self.acc & 0xFF]) if self.n else b"")


def _lzw_uniform(pixels: int, min_code_size: int = 2) -> bytes:
    """GIF LZW data for `pixels` pixels of colour index 0. A uniform run codes as strings
    of length 1, 2, 3, ...: about 100 KB for 144 megapixels, as real GIF bombs do."""
    clear, end = 1 << min_code_size, (1 << min_code_size) + 1
    bits = _Bits()
    left = pixels
    while left > 0:
        bits.put(clear, min_code_size + 1)
        size, next_code, length = min_code_size + 1, end + 1, 1
        while left > 0 and next_code < 4095:
            take = min(length, left)
            # length 1 is the colour itself; length k >= 2 was added as code end + k - 1
            bits.put(0 if take == 1 else end + take - 1, size)
            left -= take
            next_code += 1
            if next_code > (1 << size) and size < 12:
                size += 1
            length += 1
    bits.put(end, size)
    data = bits.bytes()
    blocks = b"".join(
        bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255)
    )
    return bytes([min_code_size]) + blocks + b"\0"


def gif_frames(sizes: tuple[int, ...] = (64, 12000), screen: int = 64) -> bytes:
    """A GIF with a `screen` x `screen` logical screen and one square frame per size:
    Pillow grows the canvas to a frame larger than the screen when it gets there."""

    def frame(size: int) -> bytes:
        return (
            b"!\xf9\x04\x00\x0a\x00\x00\x00"  # graphic control: 100 ms, no disposal
            + b","
            + struct.pack("<HHHHB", 0, 0, size, size, 0)
            + _lzw_uniform(size * size)
        )

    head = (
        b"GIF89a" + struct.pack("<HHBBB", screen, screen, 0x80, 0, 0) + b"\x10\x60\xc0\xff\xff\xff"
    )
    loop = b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    return head + loop + b"".join(frame(size) for size in sizes) + b";"


def gif_huge_second_frame(size: int = 12000, first: int = 64) -> bytes:
    """A GIF whose screen and first frame are `first` x `first` and whose second frame
    is `size` x `size` (144 megapixels by default, in ~100 KB)."""
    return gif_frames((first, size), screen=first)


def webp_lossless_uniform(width: int = 8000, height: int = 8000, alpha: bool = True) -> bytes:
    """A lossless WebP of one colour whose pixels take no bits at all: ~30 bytes whatever
    its size (8000 x 8000 RGBA, at the 64-megapixel cap, by default)."""
    bits = _Bits()
    bits.put(0x2F, 8)
    bits.put(width - 1, 14)
    bits.put(height - 1, 14)
    bits.put(1 if alpha else 0, 1)
    bits.put(0, 3)  # version
    bits.put(0, 1)  # no transform
    bits.put(0, 1)  # no colour cache
    bits.put(0, 1)  # no meta prefix codes
    for symbol in (0, 0, 0, 128 if alpha else 255, 0):  # green, red, blue, alpha, distance
        bits.put(1, 1)  # simple code
        bits.put(0, 1)  # one symbol: a code of length zero, so no bit per pixel
        bits.put(1, 1)  # the symbol in 8 bits
        bits.put(symbol, 8)
    payload = bits.bytes()
    if len(payload) % 2:
        payload += b"\0"
    chunk = b"VP8L" + struct.pack("<I", len(bits.bytes())) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def many_links(url: str, count: int = 100) -> str:
    """Comment markdown with `count` image links to `url` (each a distinct URL:
    a query string per link, as an attacker defeats de-duplication)."""
    sep = "&" if "?" in url else "?"
    return "\n".join(f"![]({url}{sep}{i})" for i in range(count))


# The bombs of issue 8 (a pixel cap checked on the first frame only; the memory of a
# decode not counted), at full size; too heavy for ALL, which tests decode freely.
IMAGE_BOMBS = {
    "tiff_huge_later_pages": tiff_huge_later_pages,
    "gif_huge_second_frame": gif_huge_second_frame,
    "png_16bit": png_16bit,
    "png_rgba": png_rgba,
    "tiff_float": tiff_float,
    "webp_lossless_uniform": webp_lossless_uniform,
}
