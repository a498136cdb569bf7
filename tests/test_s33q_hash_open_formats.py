"""The perceptual hashes open a file "within the limits of the classifier's decoder"
(modbot/hash_input.py), yet they opened it with every format Pillow has: a PSD's,
an ICO's, a TGA's or a SPIDER's parser ran on the file's headers (the TGA's, IM's,
SPIDER's... on every file no other format took, an HTML page too) before modbot saw
the format and refused it. Those parsers are the attack surface the classifier keeps
out (Pillow's PSD open once looped over a hostile layer count: CVE-2021-28675), and
`modbot hash` and `modbot confirm --image` run them on files an admin saved. Now only
modbot's formats are opened, and one of another kind is still named by its signature."""

from __future__ import annotations

import io

import pytest
from PIL import IcoImagePlugin, Image, TgaImagePlugin

from modbot.errors import ImageHashError
from modbot.hashes import compute_all
from modbot.pdq import pdq_hash


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """The formats outside modbot's whose parser ran on a file's headers."""
    ran: list[str] = []
    for name, cls in (("ICO", IcoImagePlugin.IcoImageFile), ("TGA", TgaImagePlugin.TgaImageFile)):
        original = cls._open

        def watched(self, original=original, name=name):
            ran.append(name)
            return original(self)

        monkeypatch.setattr(cls, "_open", watched)
    return ran


def _saved(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def test_a_format_modbot_does_not_read_is_named_without_its_parser_running(parsed):
    said = compute_all(_saved("ICO"), ["phash", "pdq"])
    assert {k: str(v) for k, v in said.items()} == {
        "phash": "ICO is not an image format modbot reads",
        "pdq": "ICO is not an image format modbot reads",
    }
    assert parsed == []


@pytest.mark.parametrize(
    "data", [b"<html><body>not found</body></html>", b"\x00" * 64], ids=["html", "zeros"]
)
def test_bytes_no_format_takes_run_no_other_format_s_parser(parsed, data):
    with pytest.raises(ImageHashError, match="not an image format Pillow can read"):
        pdq_hash(data)
    assert all(isinstance(v, ImageHashError) for v in compute_all(data, ["phash"]).values())
    assert parsed == []


def test_modbot_s_formats_still_hash():
    said = compute_all(_saved("PNG"), ["phash", "pdq"])
    # a solid colour: no pHash since HASHING 6, with a reason, not "not a format"
    assert "one colour" in str(said["phash"])
    assert said["pdq"].quality == 0
