"""The fake Lemmy 0.19 shows an anonymous visitor NSFW posts where the site has a content
warning, as Lemmy 0.19 does: `PostQuery::list` (crates/db_views/src/post_view.rs, 0.19.9
to 0.19.20) takes `show_nsfw.unwrap_or(local_user.show_nsfw(site))`, and
`LocalUserOptionHelper::show_nsfw` (crates/db_schema/src/impls/local_user.rs) is
`site.content_warning.is_some()` without a login: in `post/list` and in `GET /user`.
"""

from __future__ import annotations

import httpx


def test_an_anonymous_visitor_sees_nsfw_posts_behind_a_content_warning(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.nsfw, cast.alice, name="nsfw")
    c = httpx.Client(base_url=lemmy.url, timeout=10)

    def listed() -> tuple[list[int], list[int]]:
        posts = c.get("/api/v3/post/list", params={"type_": "All"}).json()["posts"]
        user = c.get("/api/v3/user", params={"person_id": cast.alice.id}).json()["posts"]
        return [v["post"]["id"] for v in posts], [v["post"]["id"] for v in user]

    assert listed() == ([], [])
    lemmy.site.content_warning = "Adults only"
    assert listed() == ([post.id], [post.id])
    # show_nsfw=false still hides them in post/list
    r = c.get("/api/v3/post/list", params={"type_": "All", "show_nsfw": "false"})
    assert r.json()["posts"] == []
