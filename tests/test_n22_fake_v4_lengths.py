"""Lemmy 1.0 counts a body field (a private message, a reason) in UTF-16 code units,
as the HTML ``maxlength`` does (``max_length_check``: ``encode_utf16().count()``, in
crates/utils/src/utils/validation.rs): 10,000 at most. The fake 1.0 counts the same, so a
client counting code points is caught on it."""

from __future__ import annotations

import httpx
import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast

V4 = "/api/v4"
EMOJI = "😀"  # one code point, two UTF-16 code units


@pytest.fixture
def lemmy4():
    with FakeLemmy(version="1.0") as lemmy:
        lemmy.cast = standard_cast(lemmy)
        yield lemmy


def bot(lemmy) -> httpx.Client:
    c = httpx.Client(base_url=lemmy.url, timeout=10)
    r = c.post(
        f"{V4}/account/auth/login", json={"username_or_email": "modbot", "password": PASSWORD}
    )
    c.headers["Authorization"] = f"Bearer {r.json()['jwt']}"
    return c


def test_a_private_message_over_10000_utf16_units_is_refused(lemmy4):
    c = bot(lemmy4)
    form = {"recipient_id": lemmy4.cast.admin.id, "content": EMOJI * 5_001}  # 10,002 units
    r = c.post(f"{V4}/private_message", json=form)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_body_field")
    form["content"] = EMOJI * 5_000  # 10,000 units: taken
    assert c.post(f"{V4}/private_message", json=form).status_code == 200


def test_a_ban_reason_over_10000_utf16_units_is_refused(lemmy4):
    c = bot(lemmy4)
    form = {"person_id": lemmy4.cast.alice.id, "ban": True, "reason": EMOJI * 5_001}
    r = c.post(f"{V4}/admin/ban", json=form)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_body_field")
    assert not lemmy4.state.persons[lemmy4.cast.alice.id].banned
