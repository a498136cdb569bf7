"""The fake Lemmy 0.19 signs a person out on an unban as on a ban: `ban_from_site`
(crates/api/src/local_user/ban_person.rs, 0.19.0 to 0.19.20) runs
`LoginToken::invalidate_all` for a local user whatever `ban` says.
"""

from __future__ import annotations

import httpx

from fakelemmy.scenarios import PASSWORD


def client(lemmy, name: str) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post("/api/v3/user/login", json={"username_or_email": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def test_an_unban_signs_the_person_out(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    admin = client(lemmy, "modbot")
    alice = client(lemmy, "alice")
    assert alice.get("/api/v3/user/validate_auth").status_code == 200
    # an unban (of an account banned some other way, or not banned at all)
    lemmy.person(cast.alice.id).banned = True
    r = admin.post("/api/v3/user/ban", json={"person_id": cast.alice.id, "ban": False})
    assert r.status_code == 200 and r.json()["banned"] is False, r.text
    r = alice.get("/api/v3/user/validate_auth")
    assert (r.status_code, r.json()["error"]) == (401, "incorrect_login")
    # her reads go on as an anonymous visitor's: no my_user
    assert "my_user" not in alice.get("/api/v3/site").json()
    # the admin who unbanned stays signed in
    assert admin.get("/api/v3/user/validate_auth").status_code == 200
