"""`GET /post` of the fake Lemmy 0.19 shows a removed or deleted post as Lemmy 0.19 does:
`get_post` (crates/api_crud/src/post/read.rs, 0.19.9 to 0.19.20) passes `is_mod_or_admin`
(crates/api_common/src/utils.rs: `check_user_valid` first, so a banned moderator is none)
to `PostView::read` (crates/db_views/src/post_view.rs), which for anyone else hides a
removed or deleted post, and any post of a removed or deleted community, but from its
creator; not found is 400 `couldnt_find_post`.
"""

from __future__ import annotations

import httpx

from fakelemmy.scenarios import PASSWORD


def client(lemmy, name: str | None) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    if name is not None:
        form = {"username_or_email": name, "password": PASSWORD}
        jwt = c.post("/api/v3/user/login", json=form).json()["jwt"]
        c.headers["Authorization"] = f"Bearer {jwt}"
    return c


def status(c: httpx.Client, post_id: int) -> tuple[int, str]:
    r = c.get("/api/v3/post", params={"id": post_id})
    return r.status_code, r.json().get("error", "")


def test_who_reads_a_removed_post(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    removed = lemmy.add_post(cast.pics, cast.alice, name="removed")
    lemmy.post(removed.id).removed = True
    alice, mod, admin, anon = (client(lemmy, n) for n in ("alice", "mod", "admin", None))
    hidden = (400, "couldnt_find_post")
    assert status(alice, removed.id) == (200, "")  # her own post
    assert status(mod, removed.id) == (200, "")
    assert status(admin, removed.id) == (200, "")
    assert status(anon, removed.id) == hidden
    lemmy.person(cast.mod.id).banned = True  # a banned moderator is no moderator
    assert status(mod, removed.id) == hidden


def test_a_post_of_a_removed_community_is_hidden_from_others(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="fine")
    carol = lemmy.add_person("carol", password=PASSWORD)
    lemmy.community(cast.pics.id).removed = True
    hidden = (400, "couldnt_find_post")
    assert status(client(lemmy, carol.name), post.id) == hidden
    assert status(client(lemmy, None), post.id) == hidden
    assert status(client(lemmy, "alice"), post.id) == (200, "")
    assert status(client(lemmy, "mod"), post.id) == (200, "")
