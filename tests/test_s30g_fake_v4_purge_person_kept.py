"""The fake Lemmy 1.0 keeps a purged person's row, as Lemmy does
(crates/api/api/src/site/purge/person.rs at 1.0.0-beta.1: "Keep person record, but mark as
banned"; `purge_user_account` in crates/api/api_utils/src/utils.rs ends with
`Person::delete_account`, which only marks it deleted): an admin still finds them by
name, deleted and banned, the site still counts them (their `local_user` row stays) and a
second purge succeeds.
"""

from __future__ import annotations

import httpx
import pytest

from fakelemmy.scenarios import PASSWORD


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_a_purged_person_is_still_found_by_name_deleted_and_banned(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    form = {"username_or_email": "modbot", "password": PASSWORD, "stay_logged_in": True}
    jwt = c.post("/api/v4/account/auth/login", json=form).json()["jwt"]
    c.headers["Authorization"] = f"Bearer {jwt}"
    users = c.get("/api/v4/site").json()["site_view"]["local_site"]["users"]
    purge = {"person_id": cast.alice.id, "reason": "x"}
    assert c.post("/api/v4/admin/purge/person", json=purge).json() == {"success": True}
    r = c.get("/api/v4/person", params={"username": "alice"})
    assert r.status_code == 200, r.text
    view = r.json()["person_view"]
    assert view["person"]["id"] == cast.alice.id and view["person"]["deleted"] is True
    assert view["banned"] is True
    # her local_user row stays too, so the site's user count does not drop
    assert c.get("/api/v4/site").json()["site_view"]["local_site"]["users"] == users
    again = c.post("/api/v4/admin/purge/person", json=purge)
    assert (again.status_code, again.json()) == (200, {"success": True})
