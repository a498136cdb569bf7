"""The fake Lemmy 1.0's GET /modlog drops `mod_person_id` for a reader who may not see
who acted, as Lemmy 1.0 does: get_mod_log (crates/api/api/src/site/mod_log.rs at
1.0.0-beta.1) takes `mod_person_id` only when `hide_modlog_names` (crates/api/api/src/
lib.rs: not an admin, or not a mod of the `community_id` asked) is false, so the filter
cannot name the moderator the rows hide.
"""

from __future__ import annotations

import pytest
from test_s31l_fake_v4_purge_modlog_cascade import kinds, login, modlog

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def test_mod_person_id_is_ignored_where_names_are_hidden(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice)
    mod, admin = login(lemmy, "mod"), login(lemmy, "admin")
    r = mod.post("/api/v4/post/remove", json={"post_id": post.id, "removed": True, "reason": "r"})
    assert r.status_code == 200, r.text
    r = admin.post(
        "/api/v4/admin/ban", json={"person_id": cast.bob.id, "ban": True, "reason": "spam"}
    )
    assert r.status_code == 200, r.text

    # an admin sees names: the filter applies
    assert kinds(modlog(admin, mod_person_id=cast.mod.id)) == ["mod_remove_post"]
    # a mod of the community asked sees names there: the filter applies
    assert kinds(modlog(mod, mod_person_id=cast.admin.id, community_id=cast.pics.id)) == []
    # names hidden (a user; a mod site-wide): the filter is dropped, nothing named
    for reader in (login(lemmy, "alice"), mod):
        items = modlog(reader, mod_person_id=cast.mod.id)
        assert kinds(items) == ["admin_ban", "mod_remove_post"]
        assert all("moderator" not in i for i in items)
