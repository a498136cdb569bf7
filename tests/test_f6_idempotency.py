"""Lemmy 1.0 keeps an Idempotency-Key before its rate limiter and the handler run
(crates/server/src/lib.rs wraps routes/src/middleware/idempotency.rs around the whole
app, the rate limits around each route): the fake does the same."""

from __future__ import annotations

import httpx
import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast

V4 = "/api/v4"


@pytest.fixture
def lemmy4():
    with FakeLemmy(version="1.0") as lemmy:
        lemmy.cast = standard_cast(lemmy)
        yield lemmy


def bot(lemmy) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post(
        f"{V4}/account/auth/login", json={"username_or_email": "modbot", "password": PASSWORD}
    )
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def test_a_key_rate_limited_with_429_answers_422_when_sent_again(lemmy4):
    post = lemmy4.add_post(lemmy4.cast.pics, lemmy4.cast.alice)
    c = bot(lemmy4)
    form = {"post_id": post.id, "reason": "spam"}
    lemmy4.fail_next(f"{V4}/post/report")  # Lemmy's rate limiter: 429
    first = c.post(f"{V4}/post/report", json=form, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 429
    again = c.post(f"{V4}/post/report", json=form, headers={"Idempotency-Key": "k1"})
    assert (again.status_code, again.content) == (422, b"")
    assert len(lemmy4.reports) == 0
    fresh = c.post(f"{V4}/post/report", json=form, headers={"Idempotency-Key": "k2"})
    assert fresh.status_code == 200
    assert len(lemmy4.reports) == 1


def test_a_key_lemmy_errored_on_answers_422_when_sent_again(lemmy4):
    post = lemmy4.add_post(lemmy4.cast.pics, lemmy4.cast.alice)
    c = bot(lemmy4)
    form = {"post_id": post.id, "reason": "spam"}
    lemmy4.fail_next(f"{V4}/post/report", error="couldnt_create_report")
    assert c.post(f"{V4}/post/report", json=form, headers={"Idempotency-Key": "k1"}).is_error
    again = c.post(f"{V4}/post/report", json=form, headers={"Idempotency-Key": "k1"})
    assert again.status_code == 422


def test_a_key_nginx_answered_for_is_not_kept(lemmy4):
    """A 502 page from nginx: Lemmy never saw the request, so never kept its key."""
    post = lemmy4.add_post(lemmy4.cast.pics, lemmy4.cast.alice)
    c = bot(lemmy4)
    form = {"post_id": post.id, "reason": "spam"}
    lemmy4.fail_next(f"{V4}/post/report", status=502)
    assert (
        c.post(f"{V4}/post/report", json=form, headers={"Idempotency-Key": "k1"}).status_code == 502
    )
    again = c.post(f"{V4}/post/report", json=form, headers={"Idempotency-Key": "k1"})
    assert again.status_code == 200
    assert len(lemmy4.reports) == 1


def test_the_real_rate_limiter_runs_after_the_key_is_kept(lemmy4):
    post = lemmy4.add_post(lemmy4.cast.pics, lemmy4.cast.alice)
    c = bot(lemmy4)
    form = {"post_id": post.id, "reason": "spam"}
    lemmy4.rate_limiter.limits["message"] = (0, 60.0)
    assert (
        c.post(f"{V4}/post/report", json=form, headers={"Idempotency-Key": "k1"}).status_code == 429
    )
    lemmy4.rate_limiter.limits["message"] = None
    again = c.post(f"{V4}/post/report", json=form, headers={"Idempotency-Key": "k1"})
    assert again.status_code == 422
