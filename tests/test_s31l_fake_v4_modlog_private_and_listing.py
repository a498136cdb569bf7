"""The fake Lemmy 1.0's GET /modlog keeps a private community's rows from who may not see
it and reads `listing_type`, as Lemmy 1.0 does: ModlogQuery::list (crates/db_views/modlog/
src/impls.rs at 1.0.0-beta.1) shows a non-admin a row of a private community only when
they follow it (the fake counts its moderators as followers, as its post listing does),
and filters `local` to rows of local communities, `moderator_view` to those the reader
moderates, `subscribed` to followed ones (no follows are modelled: none); any type but
`all` leaves out the rows without a community (a site ban).
"""

from __future__ import annotations

import pytest
from test_s31l_fake_v4_purge_modlog_cascade import kinds, login, modlog

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def targets(items: list[dict]) -> list[int | None]:
    return [i.get("target_community", {}).get("id") for i in items]


def test_private_rows_and_listing_types(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    secret = lemmy.add_community("secret", moderators=[cast.mod.id])
    secret.visibility = "private"
    remote = lemmy.add_community("far", local=False, instance="remote.example")
    mod, admin, alice = login(lemmy, "mod"), login(lemmy, "admin"), login(lemmy, "alice")
    for community in (cast.pics, secret, remote):
        post = lemmy.add_post(community, cast.alice)
        r = admin.post(
            "/api/v4/post/remove", json={"post_id": post.id, "removed": True, "reason": "r"}
        )
        assert r.status_code == 200, r.text
    r = admin.post("/api/v4/admin/ban", json={"person_id": cast.bob.id, "ban": True, "reason": "b"})
    assert r.status_code == 200, r.text

    every = [None, remote.id, secret.id, cast.pics.id]
    assert targets(modlog(admin)) == every
    assert targets(modlog(mod)) == every
    assert targets(modlog(alice)) == [None, remote.id, cast.pics.id]
    assert targets(modlog(admin, listing_type="local")) == [secret.id, cast.pics.id]
    assert targets(modlog(mod, listing_type="moderator_view")) == [secret.id, cast.pics.id]
    assert modlog(admin, listing_type="moderator_view") == []
    assert modlog(admin, listing_type="subscribed") == []
    assert kinds(modlog(admin, listing_type="all"))[0] == "admin_ban"
