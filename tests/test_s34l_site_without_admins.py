"""A `/site` answer without its `admins` list (a proxy's or cache's JSON: Lemmy always
sends it, and an instance always has an admin) was read as a site with no admins: the
admin ids the executor checks before each action (never act on an admin) came back
empty, and on 1.0 the session check passed with them. It is a bad answer now: the
check fails, nothing is decided on it."""

from __future__ import annotations

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret
from modbot.errors import LemmyBadAnswer
from modbot.lemmy.v3 import LemmyClient
from modbot.lemmy.v4 import LemmyClientV4


def without_admins(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "admins"}


@pytest.mark.parametrize(
    ("version", "client_class", "path"),
    [("0.19.9", LemmyClient, "/api/v3/site"), ("1.0", LemmyClientV4, "/api/v4/site")],
)
def test_a_site_without_its_admins_is_a_bad_answer(version, client_class, path):
    with FakeLemmy(version=version) as lemmy:
        cast = standard_cast(lemmy)
        client = client_class(
            lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda _: None
        )
        try:
            assert cast.admin.id in client.check_session().admin_ids
            for change in (without_admins, lambda body: {**body, "admins": None}):
                lemmy.tamper(path, change)
                with pytest.raises(LemmyBadAnswer, match="admins"):
                    client.admin_ids()
                with pytest.raises(LemmyBadAnswer, match="admins"):
                    client.check_session()
            lemmy.tamper(path, None)
            assert cast.admin.id in client.admin_ids()
        finally:
            client.close()
