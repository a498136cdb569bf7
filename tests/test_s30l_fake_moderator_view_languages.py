"""The fake Lemmy 0.19's `ModeratorView` lists posts and comments in every language, as
Lemmy 0.19 does: `PostQuery::list` (crates/db_views/src/post_view.rs, 0.19.9 to 0.19.20)
"Dont filter blocks or missing languages for moderator view type", and `CommentQuery::list`
(crates/db_views/src/comment_view.rs) filters languages only when the listing type is not
`ModeratorView`. The other listings still leave out languages the reader has not enabled.
"""

from __future__ import annotations

import httpx

from fakelemmy.scenarios import PASSWORD


def test_moderator_view_ignores_the_readers_languages(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="auf Deutsch", language_id=38)
    comment = lemmy.add_comment(post, cast.alice, content="ja", language_id=38)
    lemmy.person(cast.mod.id).discussion_languages = [0, 37]  # undetermined, English
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    form = {"username_or_email": "mod", "password": PASSWORD}
    c.headers["Authorization"] = f"Bearer {c.post('/api/v3/user/login', json=form).json()['jwt']}"

    def ids(type_: str) -> tuple[list[int], list[int]]:
        posts = c.get("/api/v3/post/list", params={"type_": type_}).json()["posts"]
        comments = c.get("/api/v3/comment/list", params={"type_": type_}).json()["comments"]
        return [v["post"]["id"] for v in posts], [v["comment"]["id"] for v in comments]

    assert ids("ModeratorView") == ([post.id], [comment.id])
    assert ids("All") == ([], [])
