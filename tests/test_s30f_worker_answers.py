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
