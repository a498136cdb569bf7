"""The fake's `purge_person` checks in Lemmy's order and answers in Lemmy's words.

Lemmy's purge_person (crates/api/src/site/purge/person.rs at 0.19.9-0.19.20,
crates/api/api/src/site/purge/person.rs at 1.0.0-beta.1 and after): `is_admin`, then
`LocalUser::is_higher_admin_check` on the id, then `Person::read`. The rank check passes
an id that is no person (the oldest admin among actor and target is the actor), so an
unknown id reaches the read: 400 `couldnt_find_person` on 0.19 (`.ok_or(CouldntFindPerson)`),
404 `not_found` on 1.0 (diesel's NotFound). Nothing changes on any refusal.
"""

from __future__ import annotations

import httpx
import pytest

from fakelemmy.scenarios import PASSWORD

pytestmark = pytest.mark.both_lemmys


def client(lemmy, name: str) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    form = {"username_or_email": name, "password": PASSWORD, "stay_logged_in": True}
    r = c.post(lemmy.api_path("/api/v3/user/login"), json=form)
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def purge(c: httpx.Client, lemmy, person_id: int) -> tuple[int, str]:
    r = c.post(
        lemmy.api_path("/api/v3/admin/purge/person"), json={"person_id": person_id, "reason": "x"}
    )
    return r.status_code, r.json().get("error", "")


def test_purge_person_refuses_in_lemmys_order(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    unknown = 99_999
    alice, bot = client(lemmy, "alice"), client(lemmy, "modbot")
    # is_admin first: a non-admin hears not_an_admin, whoever the target
    for target in (unknown, cast.admin.id, cast.bob.id):
        assert purge(alice, lemmy, target) == (400, "not_an_admin"), target
    # then the rank: "admin" is older than "modbot"
    assert purge(bot, lemmy, cast.admin.id) == (400, "not_higher_admin")
    # then the read: an unknown id passes the rank check and is not found
    missing = (400, "couldnt_find_person") if lemmy.api_version == "v3" else (404, "not_found")
    assert purge(bot, lemmy, unknown) == missing
    assert not lemmy.person(cast.admin.id).deleted and not lemmy.person(cast.bob.id).deleted
    assert lemmy.modlog == []
    # and a person the bot outranks is purged
    assert purge(bot, lemmy, cast.bob.id) == (200, "")
    assert lemmy.person(cast.bob.id).deleted  # Lemmy keeps the row, deleted and banned
    assert [a.action for a in lemmy.modlog] == ["purge_person"]
