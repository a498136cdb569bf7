"""Lemmy 1.0's followers of a private community (``community_actions.follow_state``).

A private community's posts and comments are shown to admins, its moderators and its
*accepted* followers only (``filter_private_or_followed``:
crates/db_schema/src/utils/queries/filters.rs, used by PostQuery, PostView::read,
CommentQuery, CommentView::read at 1.0.0-beta.1); its modlog rows to admins and
accepted followers (ModlogQuery::list). A follow still waiting for a moderator's
approval (``approval_required``) shows nothing, and is not in ``MyUserInfo.follows``
(CommunityFollowerView::for_person). ``subscribed`` lists the accepted follows
(``filter_is_subscribed``), and a followed unlisted community's posts are in ``all``
(``filter_unlisted_or_followed``).
"""

from __future__ import annotations

import pytest
from test_s31l_fake_v4_purge_modlog_cascade import login, modlog

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def _ids(r) -> list[int]:
    assert r.status_code == 200, r.text
    return [item["post"]["id"] for item in r.json()["items"]]


def test_a_private_community_shows_itself_to_accepted_followers(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    secret = lemmy.add_community("secret", moderators=[cast.mod.id])
    secret.visibility = "private"
    post = lemmy.add_post(secret, cast.mod, name="inside")
    comment = lemmy.add_comment(post, cast.mod, content="hi")
    admin, alice = login(lemmy, "admin"), login(lemmy, "alice")
    gone = lemmy.add_post(secret, cast.mod, name="removed later")
    r = admin.post("/api/v4/post/remove", json={"post_id": gone.id, "removed": True, "reason": "r"})
    assert r.status_code == 200, r.text
    listing = {"type_": "all", "sort": "new"}

    def sees() -> tuple:
        posts = _ids(alice.get("/api/v4/post/list", params=listing))
        comments = alice.get("/api/v4/comment/list", params={"type_": "all"}).json()["items"]
        return (
            post.id in posts,
            alice.get("/api/v4/post", params={"id": post.id}).status_code,
            comment.id in [c["comment"]["id"] for c in comments],
            alice.get("/api/v4/comment", params={"id": comment.id}).status_code,
            secret.id in [i.get("target_community", {}).get("id") for i in modlog(alice)],
        )

    def follows() -> list[int]:
        account = alice.get("/api/v4/account").json()
        return [f["community"]["id"] for f in account["follows"]]

    assert sees() == (False, 404, False, 404, False)
    lemmy.follow(secret, cast.alice, state="approval_required")
    assert sees() == (False, 404, False, 404, False)
    assert follows() == []
    subscribed = {"type_": "subscribed", "sort": "new"}
    assert _ids(alice.get("/api/v4/post/list", params=subscribed)) == []

    lemmy.follow(secret, cast.alice)  # a moderator approved it
    assert sees() == (True, 200, True, 200, True)
    assert follows() == [secret.id]
    assert _ids(alice.get("/api/v4/post/list", params=subscribed)) == [post.id]
    r = alice.get("/api/v4/community/list", params={"type_": "subscribed"})
    assert [c["community"]["id"] for c in r.json()["items"]] == [secret.id]
    view = alice.get("/api/v4/community", params={"id": secret.id}).json()["community_view"]
    assert view["community_actions"]["follow_state"] == "accepted"


def test_a_followed_unlisted_community_is_in_the_all_listing(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    quiet = lemmy.add_community("quiet", visibility="unlisted")
    post = lemmy.add_post(quiet, cast.mod, name="hush")
    alice = login(lemmy, "alice")
    listing = {"type_": "all", "sort": "new"}
    assert post.id not in _ids(alice.get("/api/v4/post/list", params=listing))
    lemmy.follow(quiet, cast.alice)
    assert post.id in _ids(alice.get("/api/v4/post/list", params=listing))
