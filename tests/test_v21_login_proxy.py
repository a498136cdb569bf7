"""A 401 that is not Lemmy's (a proxy in front of it asking for its own login) is not
told as a wrong Lemmy password."""

from __future__ import annotations

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret
from modbot.errors import LemmyLoginError
from modbot.lemmy.v4 import LemmyClientV4

LOGIN = "/api/v4/account/auth/login"


def _client(lemmy) -> LemmyClientV4:
    return LemmyClientV4(
        lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda s: None
    )


def test_a_proxys_401_page_at_login_names_the_proxy_not_the_password():
    with FakeLemmy(version="1.0") as lemmy:
        standard_cast(lemmy)
        lemmy.fail_next(LOGIN, status=401)  # the proxy's HTML page, no Lemmy error in it
        with pytest.raises(LemmyLoginError) as raised:
            _client(lemmy).login()
        said = str(raised.value)
        assert "LEMMY_PASSWORD" not in said and "incorrect_login" not in said
        assert "proxy" in said and "LEMMY_URL" in said
        assert raised.value.error is None


def test_lemmys_own_incorrect_login_still_names_the_password():
    with FakeLemmy(version="1.0") as lemmy:
        standard_cast(lemmy)
        client = LemmyClientV4(lemmy.url, "modbot", Secret("wrong"), requests_per_minute=0)
        with pytest.raises(LemmyLoginError) as raised:
            client.login()
        assert "LEMMY_PASSWORD" in str(raised.value)
        assert raised.value.error == "incorrect_login"
