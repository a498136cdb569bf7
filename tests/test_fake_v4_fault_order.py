"""The fake Lemmy 1.0 answers a repeated Idempotency-Key with 422 before any handler
runs, as Lemmy's middleware does (routes/src/middleware/idempotency.rs): an error
queued for the handler (``fail_next``) is left for the next request that reaches it."""

from __future__ import annotations

import httpx

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast

V4 = "/api/v4"


def test_a_repeated_key_leaves_the_queued_error_for_the_next_request():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        first, second = lemmy.add_post(cast.pics, cast.alice), lemmy.add_post(cast.pics, cast.bob)
        with httpx.Client(base_url=lemmy.url, timeout=10) as c:
            login = {"username_or_email": "modbot", "password": PASSWORD, "stay_logged_in": True}
            c.headers["Authorization"] = (
                f"Bearer {c.post(f'{V4}/account/auth/login', json=login).json()['jwt']}"
            )

            def report(post, key):
                form = {"post_id": post.id, "reason": "spam"}
                return c.post(f"{V4}/post/report", json=form, headers={"Idempotency-Key": key})

            assert report(first, "k1").status_code == 200
            lemmy.fail_next(f"{V4}/post/report", error="couldnt_create_report")
            assert report(first, "k1").status_code == 422  # the same key: not run again
            answer = report(second, "k2")
            assert (answer.status_code, answer.json()["error"]) == (400, "couldnt_create_report")
            assert report(second, "k3").status_code == 200  # the fault was used once
