"""`GET /user` of the fake Lemmy 0.19 answers a bad `page` or `limit` as Lemmy 0.19 does:
read_person.rs (crates/apub/src/api/read_person.rs, 0.19.9 to 0.19.20) passes the
`PostQuery::list` error up with `?`, unrelabelled (unlike `post/list`'s
`couldnt_get_posts`): `limit_and_offset`'s QueryBuilderError, 400 `unknown` with its text.
"""

from __future__ import annotations

import httpx

from fakelemmy.scenarios import PASSWORD


def test_user_paging_errors_are_unknown_with_the_reason(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    form = {"username_or_email": "modbot", "password": PASSWORD}
    c.headers["Authorization"] = f"Bearer {c.post('/api/v3/user/login', json=form).json()['jwt']}"
    for params, message in (
        ({"limit": 51}, "Fetch limit is > 50"),
        ({"limit": 0}, "Fetch limit is > 50"),
        ({"page": 0}, "Page is < 1"),
    ):
        r = c.get("/api/v3/user", params={"person_id": cast.alice.id, **params})
        assert (r.status_code, r.json()) == (400, {"error": "unknown", "message": message})
    r = c.get("/api/v3/user", params={"person_id": cast.alice.id, "limit": 50})
    assert r.status_code == 200
