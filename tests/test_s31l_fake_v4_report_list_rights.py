"""The fake Lemmy 1.0's GET /report/list refuses who is neither an admin nor a moderator,
and a banned one, unless `my_reports_only`, as Lemmy 1.0 does: list_reports
(crates/api/api/src/reports/report_combined/list.rs at 1.0.0-beta.1) runs
check_community_mod_of_any_or_admin_action (crates/api/api_utils/src/utils.rs): 400
`site_ban` for a banned account, 400 `not_a_mod_or_admin` for one that moderates nothing.
"""

from __future__ import annotations

import pytest
from test_s31l_fake_v4_purge_modlog_cascade import login

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def test_report_list_needs_a_mod_or_admin(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.mod)
    alice, mod = login(lemmy, "alice"), login(lemmy, "mod")
    r = alice.post("/api/v4/post/report", json={"post_id": post.id, "reason": "bad"})
    assert r.status_code == 200, r.text

    r = alice.get("/api/v4/report/list")
    assert (r.status_code, r.json()["error"]) == (400, "not_a_mod_or_admin")
    # allowed, but the query still keeps a non-admin to the communities they moderate
    # (filter_mod_reports, crates/db_views/report_combined/src/impls.rs): none here
    r = alice.get("/api/v4/report/list", params={"my_reports_only": "true"})
    assert (r.status_code, r.json()["items"]) == (200, [])
    assert len(mod.get("/api/v4/report/list").json()["items"]) == 1

    cast.mod.banned = True
    r = mod.get("/api/v4/report/list")
    assert (r.status_code, r.json()["error"]) == (400, "site_ban")
