"""`GET /api/v4/post` of the fake Lemmy 1.0 shows a post its creator deleted to others only
while Lemmy 1.0 would: `PostView::read` (crates/db_views/post/src/impls.rs at 1.0.0-beta.1)
admits a deleted post for anyone but its creator, mods and admins only while
`post.comments > 0`, the count Lemmy's triggers keep, which leaves out deleted and
removed comments. Not found is 404 `not_found`.
"""

from __future__ import annotations

import httpx
import pytest

from fakelemmy.scenarios import PASSWORD

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def client(lemmy, name: str | None) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    if name is not None:
        form = {"username_or_email": name, "password": PASSWORD, "stay_logged_in": True}
        jwt = c.post("/api/v4/account/auth/login", json=form).json()["jwt"]
        c.headers["Authorization"] = f"Bearer {jwt}"
    return c


def status(c: httpx.Client, post_id: int) -> tuple[int, str]:
    r = c.get("/api/v4/post", params={"id": post_id})
    return r.status_code, r.json().get("error", "")


def test_a_deleted_post_whose_comments_were_all_removed_is_hidden(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="gone")
    comment = lemmy.add_comment(post, cast.admin, content="hm")
    lemmy.post(post.id).deleted = True
    anon = client(lemmy, None)
    assert status(anon, post.id) == (200, "")  # it has a counted comment
    lemmy.comment(comment.id).removed = True
    assert status(anon, post.id) == (404, "not_found")
    assert status(client(lemmy, "alice"), post.id) == (200, "")  # her own
