"""What an image is, read from its bytes (never from what the server says it is)."""

from __future__ import annotations

__all__ = ["sniff_image_type", "why_not_an_image"]


_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = {b"mif1", b"msf1"}


def sniff_image_type(data: bytes) -> str | None:
    """The image media type the bytes say, or None when they are not a raster image."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:2] == b"BM" and len(head) >= 26:
        return "image/bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head[:4] == b"\x00\x00\x01\x00" and len(head) >= 22:
        return "image/x-icon"
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "image/jxl"
    if head[4:8] == b"ftyp":
        return _ftyp_image_type(data)
    return None


def _ftyp_image_type(data: bytes) -> str | None:
    size = int.from_bytes(data[:4], "big")
    box = data[8 : min(max(size, 16), 512)]
    brands = {box[i : i + 4] for i in range(0, len(box) - 3, 4) if i != 4}
    if brands & _AVIF_BRANDS:
        return "image/avif"
    if brands & _HEIC_BRANDS:
        return "image/heic"
    if brands & _HEIF_BRANDS:
        return "image/heif"
    return None


def why_not_an_image(data: bytes, content_type: str | None) -> str:
    text = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    said = f" (served as {_shown(content_type)})" if content_type else ""
    if b"<svg" in text and (text.startswith(b"<svg") or text.startswith(b"<?xml")):
        return f"an SVG image{said}: SVG is not rasterised, so it cannot be classified"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<?xml")):
        return f"an HTML/XML page, not an image{said}"
    if data[4:8] == b"ftyp" or data[:4] == b"\x1aE\xdf\xa3":
        return f"a video, not a still image{said}"
    return f"not a known image format{said}; first bytes {data[:8].hex()}"


# the Content-Type quoted in a refusal: real ones are tens of characters
_SHOWN_TYPE = 100


def _shown(content_type: str) -> str:
    """The server's ``Content-Type`` as a refusal quotes it (into records, reports and
    the log): printable ASCII, any other byte escaped (one that was not UTF-8 came as
    a lone surrogate, which nothing writing UTF-8 encodes), at most ``_SHOWN_TYPE``
    characters (a header line may hold 16 KiB)."""
    cut = content_type[: _SHOWN_TYPE + 1]
    try:
        raw = cut.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # another lone surrogate (a data: URI's type, from JSON)
        raw = cut.encode("utf-8", "backslashreplace")
    shown = "".join(
        chr(byte) if 0x20 <= byte < 0x7F and byte != 0x5C else f"\\x{byte:02x}" for byte in raw
    )
    return shown if len(shown) <= _SHOWN_TYPE else shown[:_SHOWN_TYPE] + "…"
