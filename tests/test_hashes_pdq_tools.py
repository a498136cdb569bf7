"""modbot's PDQ against python-threatexchange's (what HMA computes), file by file, as
docs/hash-sharing.md says: the same for RGB, grey and alpha images; for a palette image
and a CMYK JPEG python-threatexchange hashes raw channels, not the colours modbot hashes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from modbot import pdq

pdq_hasher = pytest.importorskip("threatexchange.signal_type.pdq.pdq_hasher")

CHELSEA = Path(__file__).parent / "data" / "chelsea.jpg"  # 451x300: no shrinking


def encoded(mode: str) -> bytes:
    src = Image.open(CHELSEA).convert("RGB")
    out = io.BytesIO()
    if mode == "P":
        src.quantize(256).save(out, "PNG")
    else:
        src.convert(mode).save(out, "JPEG" if mode in ("L", "CMYK") else "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("mode", "apart"), [("RGB", 0), ("L", 0), ("RGBA", 0), ("P", 240), ("CMYK", 256)]
)
def test_pdq_against_python_threatexchange(mode: str, apart: int) -> None:
    data = encoded(mode)
    theirs, _ = pdq_hasher.pdq_from_bytes(data)
    ours = pdq.pdq_hash(data)
    assert pdq.distance(ours.hex, theirs) == apart
    # modbot's is the hash of the colours: the same as of the picture converted to RGB
    rgb = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(rgb, "PNG")
    assert pdq.distance(ours.hex, pdq.pdq_hash(rgb.getvalue()).hex) <= 8
