"""The fake Lemmy 0.19 caps page numbers as the release it answers as: `limit_and_offset`
(crates/db_schema/src/utils.rs) checks only `page < 1` ("Page is < 1") up to 0.19.13;
0.19.14 refuses any page outside 1..=PAGE_LIMIT_MAX (10), 0.19.15 to 0.19.20 outside 1..=100,
with "Page limit is > N" for page 0 too (LemmyNet/lemmy ca6ba3a9a, #6252). `post/list`
and `comment/list` relabel the error `couldnt_get_posts` / `couldnt_get_comments`.
"""

from __future__ import annotations

import httpx
import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast

MEDIA = "/api/v3/admin/list_all_media"


@pytest.mark.parametrize(
    ("version", "refused", "message_0", "allowed"),
    [
        ("0.19.9", None, "Page is < 1", 1000),
        ("0.19.13", None, "Page is < 1", 1000),
        ("0.19.14", 11, "Page limit is > 10", 10),
        ("0.19.15", 101, "Page limit is > 100", 100),
        ("0.19.20", 101, "Page limit is > 100", 100),
    ],
)
def test_the_page_cap_is_the_releases(version, refused, message_0, allowed):
    with FakeLemmy(version=version) as lemmy:
        alice = standard_cast(lemmy).alice
        c = httpx.Client(base_url=lemmy.url, timeout=10)
        form = {"username_or_email": "modbot", "password": PASSWORD}
        jwt = c.post("/api/v3/user/login", json=form).json()["jwt"]
        c.headers["Authorization"] = f"Bearer {jwt}"
        for path in (MEDIA, "/api/v3/post/list", "/api/v3/comment/list", "/api/v3/user"):
            params = {"page": allowed, "limit": 50}
            if path == "/api/v3/user":
                params["person_id"] = alice.id
            r = c.get(path, params=params)
            assert r.status_code == 200, (path, r.text)
            if refused is not None:
                r = c.get(path, params={**params, "page": refused})
                assert r.status_code == 400, (path, r.text)
        r = c.get(MEDIA, params={"page": 0})
        assert r.json() == {"error": "unknown", "message": message_0}
        if refused is not None:
            r = c.get(MEDIA, params={"page": refused})
            assert r.json() == {"error": "unknown", "message": f"Page limit is > {refused - 1}"}
            r = c.get("/api/v3/post/list", params={"page": refused})
            assert r.json() == {"error": "couldnt_get_posts"}
            r = c.get("/api/v3/comment/list", params={"page": refused})
            assert r.json() == {"error": "couldnt_get_comments"}
