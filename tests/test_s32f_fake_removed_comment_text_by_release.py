"""What text the fake Lemmy 0.19 shows of a removed or deleted comment, by release, as
crates/db_views/src/comment_view.rs does (``CommentQuery::list``, ``CommentView::read``):
0.19.0-0.19.3 blank nothing ("deleted and removed comments are done on the front
side"); 0.19.4-0.19.7 blank the content for every reader, admins too; 0.19.8 on blank it
for all but admins (``handle_deleted(c, is_admin)``)."""

from __future__ import annotations

import httpx
import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast


def _login(lemmy, name: str) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post("/api/v3/user/login", json={"username_or_email": name, "password": PASSWORD})
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


@pytest.mark.parametrize(
    ("version", "admin_sees", "user_sees"),
    [
        ("0.19.3", "![x](gone.jpg)", "![x](gone.jpg)"),
        ("0.19.4", "", ""),
        ("0.19.7", "", ""),
        ("0.19.8", "![x](gone.jpg)", ""),
        ("0.19.9", "![x](gone.jpg)", ""),
    ],
)
def test_removed_comment_text_by_release(version, admin_sees, user_sees):
    with FakeLemmy(version=version) as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice, name="p")
        removed = lemmy.add_comment(post, cast.alice, content="![x](gone.jpg)")
        removed.removed = True
        deleted = lemmy.add_comment(post, cast.alice, content="![x](gone.jpg)")
        deleted.deleted = True
        for reader, expected in (
            (_login(lemmy, "admin"), admin_sees),
            (_login(lemmy, "mod"), user_sees),
        ):
            listed = reader.get("/api/v3/comment/list", params={"post_id": post.id, "sort": "New"})
            assert [v["comment"]["content"] for v in listed.json()["comments"]] == [expected] * 2
            for comment in (removed, deleted):
                one = reader.get("/api/v3/comment", params={"id": comment.id}).json()
                assert one["comment_view"]["comment"]["content"] == expected
