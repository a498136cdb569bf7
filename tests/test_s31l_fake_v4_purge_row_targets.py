"""The fake Lemmy 1.0's modlog rows of a post or comment purge name what Lemmy's do.

Lemmy 1.0 writes `admin_purge_post` with the post's community and `admin_purge_comment`
with the comment's post, creator and community (ModlogInsertForm::admin_purge_post /
admin_purge_comment in crates/db_schema/src/impls/modlog.rs, called by
crates/api/api/src/site/purge/{post,comment}.rs at 1.0.0-beta.1), so GET /modlog shows
those targets and finds the rows by `community_id`, `post_id` and `other_person_id`; a
later purge of that post takes the comment purge's row (ON DELETE CASCADE).
"""

from __future__ import annotations

import pytest
from test_s31l_fake_v4_purge_modlog_cascade import kinds, login, modlog

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def test_purge_rows_name_their_community_post_and_person(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    purged = lemmy.add_post(cast.pics, cast.alice)
    post = lemmy.add_post(cast.nsfw, cast.mod)
    comment = lemmy.add_comment(post, cast.alice, content="bad")
    admin = login(lemmy, "admin")
    r = admin.post("/api/v4/admin/purge/post", json={"post_id": purged.id, "reason": "a"})
    assert r.status_code == 200, r.text
    r = admin.post("/api/v4/admin/purge/comment", json={"comment_id": comment.id, "reason": "b"})
    assert r.status_code == 200, r.text

    (row,) = modlog(admin, community_id=cast.pics.id)
    assert row["modlog"]["kind"] == "admin_purge_post"
    assert row["target_community"]["id"] == cast.pics.id
    assert "target_post" not in row and "target_person" not in row

    (row,) = modlog(admin, post_id=post.id)
    assert row["modlog"]["kind"] == "admin_purge_comment"
    assert row["target_post"]["id"] == post.id
    assert row["target_person"]["id"] == cast.alice.id
    assert row["target_community"]["id"] == cast.nsfw.id
    assert "target_comment" not in row
    assert kinds(modlog(admin, other_person_id=cast.alice.id)) == ["admin_purge_comment"]

    # the comment purge's row names the post: purging the post takes it
    r = admin.post("/api/v4/admin/purge/post", json={"post_id": post.id, "reason": "c"})
    assert r.status_code == 200, r.text
    assert kinds(modlog(admin)) == ["admin_purge_post", "admin_purge_post"]
