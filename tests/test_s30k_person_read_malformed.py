"""A person read by id (whether a ban is in place, and until when) whose timestamps or
name are of a type Lemmy never sends: a ``LemmyBadAnswer`` that says which field, never
an AttributeError traceback, and never a ban's end misread as a permanent ban."""

from __future__ import annotations

import pytest

from modbot.config.settings import Secret
from modbot.lemmy import LemmyBadAnswer, LemmyClient
from modbot.lemmy.v4 import LemmyClientV4


def _spoil_v3(field, value):
    def spoil(body):
        view = body["person_view"]
        return {**body, "person_view": {**view, "person": {**view["person"], field: value}}}

    return spoil


def _spoil_v4(field, value, *, on_person=False):
    def spoil(body):
        view = body["person_view"]
        if on_person:
            view = {**view, "person": {**view["person"], field: value}}
        else:
            view = {**view, field: value}
        return {**body, "person_view": view}

    return spoil


@pytest.mark.both_lemmys
@pytest.mark.parametrize("field", ["published", "ban_expires", "name"])
def test_a_person_read_by_id_with_a_field_of_the_wrong_type_is_a_bad_answer(fake_lemmy, field):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    v4 = lemmy.v4 is not None
    client = (LemmyClientV4 if v4 else LemmyClient)(
        lemmy.url, "modbot", Secret("pw"), requests_per_minute=0
    )
    try:
        assert client.person(cast.alice.id).name == "alice"
        if v4:
            name, on_person = {
                "published": ("published_at", True),
                "ban_expires": ("ban_expires_at", False),
                "name": ("name", True),
            }[field]
            lemmy.tamper("/api/v4/person", _spoil_v4(name, 1700000000, on_person=on_person))
        else:
            name = field
            lemmy.tamper("/api/v3/user", _spoil_v3(field, 1700000000))
        with pytest.raises(LemmyBadAnswer, match=f"`(person\\.)?{name}` is 1700000000"):
            client.person(cast.alice.id)
    finally:
        client.close()
