"""Lemmy 1.0's image proxy (``/api/v4/image/proxy``) asks pict-rs for
``image/original?proxy=URL`` as 0.19's does (1.0.0-beta.1
``crates/routes/src/images/download.rs``), so pict-rs' first fetch of a remote image is
the same ingest: limited to ``media.max_file_size`` (400 ``validate-file-size``) and
sent to the external validator (400 ``failed-external-validation`` when it refuses),
pict-rs' answer passed on (only a 404 becomes an empty 404). The fake 1.0 cached any
remote file on first fetch, unchecked: a gate test on 1.0 saw no proxied image."""

from __future__ import annotations

import httpx
import pytest
from test_pictrs_validation import Validator
from test_s34t_pictrs_max_file_size import _png_over

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def _cached(lemmy) -> list:
    with lemmy.state.lock:
        return [u for u in lemmy.state.uploads.values() if u.proxy]


def test_a_proxied_image_over_max_file_size_is_refused_and_never_validated(fake_lemmy):
    validator = Validator()
    try:
        fake_lemmy.external_validation = validator.url
        fake_lemmy.uploads.max_file_size = 1  # MiB (pict-rs' default: 40)
        remote = fake_lemmy.add_remote_file("big.png", _png_over(1), content_type="image/png")
        answer = httpx.get(fake_lemmy.proxy_url(remote))
        assert answer.status_code == 400, answer.status_code
        assert answer.json()["code"] == "validate-file-size", answer.text
        assert validator.got == []
        assert _cached(fake_lemmy) == [], "no copy cached"
    finally:
        validator.close()


def test_a_proxied_image_the_validator_refuses_is_not_cached(fake_lemmy, photos):
    validator = Validator(status=403)
    try:
        fake_lemmy.external_validation = validator.url
        remote = fake_lemmy.add_remote_file("bad.jpg", photos["coffee"])
        answer = httpx.get(fake_lemmy.proxy_url(remote))
        assert answer.status_code == 400, answer.status_code
        assert answer.json()["code"] == "failed-external-validation", answer.text
        assert len(validator.got) == 1
        assert validator.got[0][2] == photos["coffee"]
        assert _cached(fake_lemmy) == []
        # one the validator takes is served and cached, validated once
        validator.status = 200
        answer = httpx.get(fake_lemmy.proxy_url(remote))
        assert answer.status_code == 200 and answer.content == photos["coffee"]
        assert len(_cached(fake_lemmy)) == 1 and len(validator.got) == 2
        assert httpx.get(fake_lemmy.proxy_url(remote)).status_code == 200
        assert len(validator.got) == 2, "a cached copy is not validated again"
    finally:
        validator.close()
