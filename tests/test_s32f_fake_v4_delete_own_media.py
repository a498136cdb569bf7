"""Lemmy 1.0's ``DELETE /api/v4/account/media {filename}`` (crates/api/routes/src/lib.rs,
``delete_image`` in crates/routes/src/images/delete.rs): a logged-in user deletes an
image of their own. No ``local_image`` row of theirs with that alias is 404 ``not_found``
(``LocalImage::validate_by_alias_and_user``); else pict-rs deletes that one alias
(``delete_image_alias``: ``/internal/delete``, the bytes kept while another alias holds
them) and the row goes. The ``LocalUserView`` extractor alone guards it: a banned
account may (no ``check_user_valid``). It is not in the ``image`` rate-limit bucket."""

from __future__ import annotations

import httpx
import pytest
from test_s31l_fake_v4_purge_modlog_cascade import login

pytestmark = pytest.mark.parametrize("fake_lemmy", ["1.0"], indirect=True)


def _delete(c: httpx.Client, filename: str) -> httpx.Response:
    return c.request("DELETE", "/api/v4/account/media", json={"filename": filename})


def _own(c: httpx.Client) -> list[str]:
    r = c.get("/api/v4/account/media/list")
    assert r.status_code == 200, r.text
    return [item["local_image"]["pictrs_alias"] for item in r.json()["items"]]


def test_a_user_deletes_their_own_image_and_no_one_else_s(fake_lemmy, photos):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    data = next(iter(photos.values()))
    mine = lemmy.add_upload(cast.alice, data)
    copy = lemmy.add_upload(cast.mod, data)  # the same bytes under the mod's alias
    alice = login(lemmy, "alice")

    r = _delete(alice, copy.alias)
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    assert lemmy.image_exists(copy.alias)

    anonymous = httpx.Client(base_url=lemmy.url, timeout=10)
    r = _delete(anonymous, mine.alias)
    assert (r.status_code, r.json()["error"]) == (401, "incorrect_login")

    cast.alice.banned = True  # a banned account keeps its login and may still do it
    assert _own(alice) == [mine.alias]
    r = _delete(alice, mine.alias)
    assert (r.status_code, r.json()) == (200, {"success": True})
    assert not lemmy.image_exists(mine.alias)
    assert lemmy.image_exists(copy.alias)  # one alias went, the bytes stay for the other
    assert _own(alice) == []
    assert mine.alias not in lemmy.purged_images
    r = _delete(alice, mine.alias)  # its row went with it
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    deletes = [r for r in lemmy.mutating_requests() if r.path == "/api/v4/account/media"]
    assert [r.status for r in deletes] == [404, 401, 200, 404]
