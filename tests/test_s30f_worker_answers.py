"""What the worker answers a request sent by hand the wrong way (an admin trying it
with curl), on the shared test worker: each refusal says what to send instead."""

from __future__ import annotations

import httpx
import pytest
from support.worker import TOKEN


@pytest.mark.parametrize("header", [TOKEN, f"Token {TOKEN}", f"Basic {TOKEN}", "Bearer"])
def test_a_token_not_sent_as_bearer_is_told_how_to_send_it(worker, photos, header):
    """It was answered "unknown token: ask this worker's admin for one", though the token
    may be right and only its form wrong (`-H "Authorization: $TOKEN"`)."""
    answer = httpx.post(
        f"{worker.url}/v1/classify",
        content=photos["coffee"],
        headers={"Authorization": header},
    )
    assert answer.status_code == 401
    said = answer.json()["error"]
    assert "Authorization: Bearer <token>" in said and "unknown token" not in said, said
    assert TOKEN not in answer.text
    assert 'error="invalid_request"' in answer.headers["www-authenticate"]


@pytest.mark.parametrize("form", ["multipart", "urlencoded"])
def test_an_image_sent_as_a_form_is_refused_saying_how_to_send_it(worker, photos, form):
    """`curl -F file=@photo.jpg` (one or several files in a form) or `curl -d @photo.jpg`
    (a form too, its line breaks taken out) got a verdict `unreadable` ("not an image"),
    as if the model could not read the photo. The image is the body, one per request."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if form == "multipart":
        answer = httpx.post(
            f"{worker.url}/v1/classify", files={"file": photos["coffee"]}, headers=headers
        )
    else:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        answer = httpx.post(f"{worker.url}/v1/classify", content=photos["coffee"], headers=headers)
    assert answer.status_code == 400, answer.text
    said = answer.json()["error"]
    assert "form" in said and "--data-binary @" in said, said
    # the same image as the body is classified
    plain = httpx.post(
        f"{worker.url}/v1/classify",
        content=photos["coffee"],
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "image/jpeg"},
    )
    assert plain.status_code == 200 and plain.json()["unreadable"] is None
