"""The fake Lemmy 1.0 refuses a moderator banned from the community its removals and bans
there, as Lemmy 1.0 does: remove_post, remove_comment and ban_from_community
(crates/api/api_crud/src/{post,comment}/remove.rs, crates/api/api/src/community/ban.rs at
1.0.0-beta.1) run check_community_mod_action (crates/api/api_utils/src/utils.rs), which
for a non-admin answers CommunityPersonBanView::check's 400
`person_is_banned_from_community` (crates/db_views/community_moderator/src/impls.rs).
"""

from __future__ import annotations

import pytest
from test_s31l_fake_v4_purge_modlog_cascade import login

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def test_a_banned_moderator_cannot_remove_or_ban_there(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    comment = lemmy.add_comment(post, cast.alice, content="c")
    other = lemmy.add_post(cast.nsfw, cast.alice)
    mod, admin = login(lemmy, "mod"), login(lemmy, "admin")
    r = admin.post(
        "/api/v4/community/ban_user",
        json={"community_id": cast.pics.id, "person_id": cast.mod.id, "ban": True, "reason": "x"},
    )
    assert r.status_code == 200, r.text

    for path, body in (
        ("/api/v4/post/remove", {"post_id": post.id, "removed": True, "reason": "r"}),
        ("/api/v4/comment/remove", {"comment_id": comment.id, "removed": True, "reason": "r"}),
        (
            "/api/v4/community/ban_user",
            {"community_id": cast.pics.id, "person_id": cast.alice.id, "ban": True, "reason": "r"},
        ),
    ):
        r = mod.post(path, json=body)
        assert r.status_code == 400, (path, r.text)
        assert r.json()["error"] == "person_is_banned_from_community", path
    assert not lemmy.post(post.id).removed and not lemmy.comment(comment.id).removed
    # still a moderator where not banned
    r = mod.post("/api/v4/post/remove", json={"post_id": other.id, "removed": True, "reason": "r"})
    assert r.status_code == 200, r.text
