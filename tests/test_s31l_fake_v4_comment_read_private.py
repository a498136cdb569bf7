"""The fake Lemmy 1.0's GET /comment hides a comment of a private community from who does
not follow it, and one of a local-only private community from an anonymous reader, as
Lemmy 1.0 does: get_comment (crates/api/api_crud/src/comment/read.rs at 1.0.0-beta.1)
reads CommentView::read (crates/db_views/comment/src/impls.rs), which filters
filter_private_or_followed for a non-admin and LocalOnlyPrivate for no login: 404
not_found. (Follows are not modelled: the community's moderators count as followers.)
"""

from __future__ import annotations

import httpx
import pytest
from test_s31l_fake_v4_purge_modlog_cascade import login

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def test_private_comments_are_not_found_by_outsiders(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    secret = lemmy.add_community("secret", moderators=[cast.mod.id])
    secret.visibility = "private"
    inner = lemmy.add_community("inner", moderators=[cast.mod.id])
    inner.visibility = "local_only_private"
    hidden = lemmy.add_comment(lemmy.add_post(secret, cast.mod), cast.mod, content="s")
    local = lemmy.add_comment(lemmy.add_post(inner, cast.mod), cast.mod, content="l")
    anonymous = httpx.Client(base_url=lemmy.url, timeout=10)
    readers = {
        "admin": login(lemmy, "admin"),
        "mod": login(lemmy, "mod"),
        "alice": login(lemmy, "alice"),
        "anonymous": anonymous,
    }

    def status(reader: str, comment_id: int) -> int:
        return readers[reader].get("/api/v4/comment", params={"id": comment_id}).status_code

    assert [status(r, hidden.id) for r in readers] == [200, 200, 404, 404]
    assert [status(r, local.id) for r in readers] == [200, 200, 200, 404]
    r = anonymous.get("/api/v4/comment", params={"id": hidden.id})
    assert r.json()["error"] == "not_found"
