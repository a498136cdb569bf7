"""The fake Lemmy 1.0's GET /community answers as Lemmy 1.0's get_community
(crates/api/api/src/federation/read_community.rs at 1.0.0-beta.1): a private instance
refuses an anonymous reader (check_private_instance: 400 instance_is_private), and
CommunityView::read (crates/db_views/community/src/impls.rs) hides a removed or deleted
community from all but its mods and admins (is_mod_or_admin_opt: a banned one is
neither), and a local-only private one from an anonymous reader: 404 not_found.
"""

from __future__ import annotations

import httpx
import pytest
from test_s31l_fake_v4_purge_modlog_cascade import login

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def test_hidden_communities_and_a_private_instance(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    removed = lemmy.add_community("gone", moderators=[cast.mod.id])
    removed.removed = True
    deleted = lemmy.add_community("left", moderators=[cast.mod.id])
    deleted.deleted = True
    inner = lemmy.add_community("inner", moderators=[cast.mod.id])
    inner.visibility = "local_only_private"
    anonymous = httpx.Client(base_url=lemmy.url, timeout=10)
    readers = [login(lemmy, "admin"), login(lemmy, "mod"), login(lemmy, "alice"), anonymous]

    def statuses(community) -> list[int]:
        return [
            c.get("/api/v4/community", params={"id": community.id}).status_code for c in readers
        ]

    assert statuses(removed) == [200, 200, 404, 404]
    assert statuses(deleted) == [200, 200, 404, 404]
    assert statuses(inner) == [200, 200, 200, 404]
    r = readers[2].get("/api/v4/community", params={"name": "gone"})
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    cast.mod.banned = True
    assert statuses(removed)[1] == 404

    lemmy.site.private_instance = True
    r = anonymous.get("/api/v4/community", params={"id": cast.pics.id})
    assert (r.status_code, r.json()["error"]) == (400, "instance_is_private")
