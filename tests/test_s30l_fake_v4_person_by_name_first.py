"""`GET /api/v4/person` of the fake Lemmy 1.0 reads `username` before `person_id`, as Lemmy
1.0 does: read_person (crates/api/api/src/federation/read_person.rs at 1.0.0-beta.1) takes
`resolve_person_identifier` (crates/api/api/src/federation/fetcher.rs), which resolves the
name when one is given and only else uses the id.
"""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)
def test_the_name_wins_over_the_id(fake_lemmy):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.get("/api/v4/person", params={"person_id": cast.alice.id, "username": "mod"})
    assert r.status_code == 200, r.text
    assert r.json()["person_view"]["person"]["id"] == cast.mod.id
    r = c.get("/api/v4/person", params={"person_id": cast.alice.id})
    assert r.json()["person_view"]["person"]["id"] == cast.alice.id
