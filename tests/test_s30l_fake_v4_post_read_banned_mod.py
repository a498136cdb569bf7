"""`GET /api/v4/post` of the fake Lemmy 1.0 counts a banned moderator as none, as Lemmy 1.0
does: get_post (crates/api/api_crud/src/post/read.rs at 1.0.0-beta.1) passes
`is_mod_or_admin_opt`, whose `check_local_user_banned_or_deleted`
(crates/api/api_utils/src/utils.rs) fails for a banned or deleted account, to
`PostView::read` (crates/db_views/post/src/impls.rs), which then hides a removed post from
them. Not found is 404 `not_found`.
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


def test_a_banned_moderator_reads_a_removed_post_as_anyone(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="removed")
    lemmy.post(post.id).removed = True
    mod = client(lemmy, "mod")
    assert status(mod, post.id) == (200, "")
    lemmy.person(cast.mod.id).banned = True
    assert status(mod, post.id) == (404, "not_found")
