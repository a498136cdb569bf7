"""Lemmy 1.0 lists no comment of an unlisted community to whoever does not follow it:
`CommentQuery::list` filters `ListingType::All` (what a community's listing always
is) with `filter_unlisted_or_followed`, community id or not (LemmyNet/lemmy
1.0.0-beta.1, crates/db_views/comment/src/impls.rs). Posts differ: a community's own
post listing shows them."""

from __future__ import annotations

import httpx

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast

V4 = "/api/v4"


def _ids(response: httpx.Response, kind: str) -> list[int]:
    assert response.status_code == 200, response.text
    return [item[kind]["id"] for item in response.json()["items"]]


def test_an_unlisted_communitys_comments_are_listed_to_no_one_who_does_not_follow_it():
    with FakeLemmy(version="1.0") as lemmy:
        cast = standard_cast(lemmy)
        quiet = lemmy.add_community("quiet", visibility="unlisted")
        post = lemmy.add_post(quiet, cast.alice, name="in quiet")
        comment = lemmy.add_comment(post, cast.bob, content="hello")
        listed = lemmy.add_comment(lemmy.add_post(cast.pics, cast.alice), cast.bob, content="x")
        bot = httpx.Client(base_url=lemmy.url, timeout=10)
        login = bot.post(
            f"{V4}/account/auth/login",
            json={"username_or_email": "modbot", "password": PASSWORD, "stay_logged_in": True},
        )
        bot.headers["Authorization"] = f"Bearer {login.json()['jwt']}"
        for query in (
            {"type_": "all"},
            {"type_": "local"},
            {"post_id": post.id},
            {"post_id": post.id, "type_": "all"},
            {"community_id": quiet.id},
            {"community_name": "quiet"},
        ):
            got = _ids(bot.get(f"{V4}/comment/list", params={**query, "sort": "new"}), "comment")
            assert comment.id not in got, query
        assert listed.id in _ids(bot.get(f"{V4}/comment/list", params={"type_": "all"}), "comment")
        # the community's own post listing still shows its posts
        posts = _ids(bot.get(f"{V4}/post/list", params={"community_id": quiet.id}), "post")
        assert posts == [post.id]
