"""A deleted account, as the fake Lemmy 0.19 shows it: `PersonView::read`
(crates/db_views_actor/src/person_view.rs) filters `person.deleted = false`, answered
`.ok_or(CouldntFindPerson)` (400), in `GET /user` (crates/apub/src/api/read_person.rs)
and after a site or community ban (crates/api/src/local_user/ban_person.rs,
crates/api/src/community/ban.rs), which read it once the ban and its modlog row are
written: the ban stands, the answer is an error. Up to 0.19.13 for everyone; 0.19.14 on,
`GET /user` shows them to admins and the bans read them with `show_deleted`.
"""

from __future__ import annotations

import time

import httpx
import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast


def client(lemmy, name: str) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post("/api/v3/user/login", json={"username_or_email": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def answer(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json().get("error", "")


def reads_and_bans(lemmy):
    cast = lemmy.cast
    lemmy.person(cast.alice.id).deleted = True  # she deleted her account
    admin, mod = client(lemmy, "modbot"), client(lemmy, "mod")
    got = {
        "admin by id": admin.get("/api/v3/user", params={"person_id": cast.alice.id}),
        "admin by name": admin.get("/api/v3/user", params={"username": "alice"}),
        "user by id": mod.get("/api/v3/user", params={"person_id": cast.alice.id}),
        "site ban": admin.post(
            "/api/v3/user/ban", json={"person_id": cast.alice.id, "ban": True, "reason": "x"}
        ),
        "community ban": mod.post(
            "/api/v3/community/ban_user",
            json={
                "community_id": cast.pics.id,
                "person_id": cast.alice.id,
                "ban": True,
                "expires": int(time.time()) + 3600,
            },
        ),
    }
    return {what: answer(r) for what, r in got.items()}


def test_0_19_9_finds_no_deleted_person_and_a_ban_of_one_errs_but_stands(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    missing = (400, "couldnt_find_person")
    assert reads_and_bans(lemmy) == {
        "admin by id": missing,
        "admin by name": missing,
        "user by id": missing,
        "site ban": missing,
        "community ban": missing,
    }
    assert lemmy.person(cast.alice.id).banned  # the ban was written before the read
    assert (cast.pics.id, cast.alice.id) in lemmy.community_bans
    assert [a.action for a in lemmy.modlog] == ["ban", "community_ban"]


@pytest.mark.parametrize("version", ["0.19.14", "0.19.20"])
def test_0_19_14_on_admins_see_a_deleted_person_and_bans_answer(version):
    with FakeLemmy(version=version) as lemmy:
        lemmy.cast = standard_cast(lemmy)
        assert reads_and_bans(lemmy) == {
            "admin by id": (200, ""),
            "admin by name": (200, ""),
            "user by id": (400, "couldnt_find_person"),
            "site ban": (200, ""),
            "community ban": (200, ""),
        }
