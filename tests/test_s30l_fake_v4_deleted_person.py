"""The fake Lemmy 1.0 hides a deleted account from `GET /api/v4/person` for everyone but an
admin, as Lemmy does (crates/db_views/person/src/impls.rs at 1.0.0-beta.1: `PersonView::read`
filters `person::deleted.eq(false)` unless `is_admin`, and its NotFound is 404 `not_found`;
crates/api/api/src/federation/read_person.rs passes `is_admin(local_user_view).is_ok()`,
so a banned admin counts as no admin).
"""

from __future__ import annotations

import httpx
import pytest

from fakelemmy.scenarios import PASSWORD


def _client(lemmy, name: str | None) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    if name is not None:
        form = {"username_or_email": name, "password": PASSWORD, "stay_logged_in": True}
        jwt = c.post("/api/v4/account/auth/login", json=form).json()["jwt"]
        c.headers["Authorization"] = f"Bearer {jwt}"
    return c


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_a_deleted_account_is_not_found_but_by_an_admin(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    with lemmy.state.lock:
        cast.alice.deleted = True
    for who in (None, "mod"):
        c = _client(lemmy, who)
        for query in ({"person_id": cast.alice.id}, {"username": "alice"}):
            r = c.get("/api/v4/person", params=query)
            assert (r.status_code, r.json()["error"]) == (404, "not_found"), (who, query)
    r = _client(lemmy, "admin").get("/api/v4/person", params={"person_id": cast.alice.id})
    assert r.status_code == 200, r.text
    assert r.json()["person_view"]["person"]["deleted"] is True


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_a_banned_admin_does_not_see_a_deleted_account(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    c = _client(lemmy, "admin")
    with lemmy.state.lock:
        cast.alice.deleted = True
        cast.admin.banned = True
    r = c.get("/api/v4/person", params={"person_id": cast.alice.id})
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    # an account that is not deleted is shown to the same viewer
    assert c.get("/api/v4/person", params={"person_id": cast.mod.id}).status_code == 200
