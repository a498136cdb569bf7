"""pict-rs refuses a file over ``media.max_file_size`` (MiB, default 40) before it stores
or validates it: the upload form's limit answers 413 ``{"msg", "code":
"validate-file-size"}`` (``src/error.rs``: ``Upload(FileSize)`` and
``Validation(Filesize)`` are ``PAYLOAD_TOO_LARGE``), and a remote image fetched for the
image proxy past it answers 400 with the same code (``stream::limit``'s ``LimitError``).
The external validator (the gate) is never asked about such a file. The fake had no limit:
it sent the gate any size, and a gate test saw a 41 MiB upload pict-rs never sends."""

from __future__ import annotations

import io
import random

import httpx
from PIL import Image
from test_pictrs_validation import Validator, upload


def _png_over(mib: int) -> bytes:
    """A PNG of noise (PNG cannot shrink it) just over ``mib`` MiB."""
    side = int((mib * 1024 * 1024 / 3) ** 0.5) + 8
    noise = random.Random(0).randbytes(side * side * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), noise).save(out, "PNG", compress_level=0)
    data = out.getvalue()
    assert mib * 1024 * 1024 < len(data) < (mib + 1) * 1024 * 1024
    return data


def test_an_upload_over_max_file_size_is_refused_413_and_never_validated(fake_lemmy, photos):
    validator = Validator()
    try:
        fake_lemmy.external_validation = validator.url
        fake_lemmy.uploads.max_file_size = 1  # MiB (pict-rs' default: 40)
        big = _png_over(1)
        direct = httpx.post(
            f"{fake_lemmy.pictrs_url}/image", files={"images[]": ("a.png", big, "image/png")}
        )
        assert direct.status_code == 413, direct.text
        assert direct.json()["code"] == "validate-file-size", direct.text
        through_lemmy = upload(fake_lemmy, big)  # Lemmy 0.19 passes pict-rs' status on
        assert through_lemmy.status_code == 413, through_lemmy.text
        assert through_lemmy.json() == {"files": None, "msg": direct.json()["msg"]}
        assert validator.got == [], "pict-rs never asks the validator about such a file"
        with fake_lemmy.state.lock:
            assert not fake_lemmy.state.uploads and not fake_lemmy.state.files
        # one within the limit is validated and stored as before
        small = upload(fake_lemmy, photos["coffee"])
        assert small.status_code == 201, small.text
        assert len(validator.got) == 1
    finally:
        validator.close()


def test_a_proxied_image_over_max_file_size_is_refused_and_never_validated(fake_lemmy):
    validator = Validator()
    try:
        fake_lemmy.external_validation = validator.url
        fake_lemmy.uploads.max_file_size = 1
        remote = fake_lemmy.add_remote_file("big.png", _png_over(1), content_type="image/png")
        answer = httpx.get(fake_lemmy.proxy_url(remote))
        assert answer.status_code == 400, answer.status_code
        assert answer.json()["code"] == "validate-file-size", answer.text
        assert validator.got == []
        with fake_lemmy.state.lock:
            assert not fake_lemmy.state.uploads, "no copy cached"
    finally:
        validator.close()
