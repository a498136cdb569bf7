"""Lemmy 1.0: the site's custom emojis (GET /custom_emoji/list) only spare the site's
own emoji images from being judged. A list that cannot be read is a warning, said
once, never a failed login, session check or cycle."""

from __future__ import annotations

import logging

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from fakelemmy.state import CustomEmoji, now
from modbot.config.settings import Secret
from modbot.lemmy.v4 import LemmyClientV4

EMOJIS = "/api/v4/custom_emoji/list"


def _client(lemmy) -> LemmyClientV4:
    return LemmyClientV4(
        lemmy.url,
        "modbot",
        Secret(PASSWORD),
        requests_per_minute=0,
        retries=1,
        sleep=lambda s: None,
    )


def _spoil(lemmy, how: str) -> None:
    if how == "lemmy 500":
        lemmy.fail_next(EMOJIS, times=4, status=500, error="unknown", message="db")
    elif how == "proxy 502":
        lemmy.fail_next(EMOJIS, times=4, status=502)
    elif how == "html page":
        lemmy.tamper(EMOJIS, lambda body: "<html>maintenance</html>", times=4)
    else:  # JSON without the list
        lemmy.tamper(EMOJIS, lambda body: {"emojis": []}, times=4)


def _warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "modbot.lemmy.v4" and r.levelno == logging.WARNING
    ]


@pytest.mark.parametrize("how", ["lemmy 500", "proxy 502", "html page", "no list"])
def test_an_emoji_list_that_cannot_be_read_is_a_warning_said_once(caplog, how):
    with FakeLemmy(version="1.0") as lemmy:
        standard_cast(lemmy)
        client = _client(lemmy)
        _spoil(lemmy, how)
        caplog.set_level(logging.INFO)
        site = client.check_session()  # was: LemmyUnavailable / LemmyBadAnswer
        assert site.account is not None and site.custom_emoji_urls == frozenset()
        assert client.site_info().custom_emoji_urls == frozenset()
        (warning,) = _warnings(caplog)
        assert "custom emojis" in warning


def test_the_emojis_read_last_are_kept_while_the_list_fails(caplog):
    with FakeLemmy(version="1.0") as lemmy:
        standard_cast(lemmy)
        url = f"{lemmy.url}/api/v4/image/party.png"
        with lemmy.state.lock:
            lemmy.state.custom_emojis.append(CustomEmoji(1, "party", url, now(), "party"))
        client = _client(lemmy)
        assert client.check_session().custom_emoji_urls == {url}
        caplog.set_level(logging.INFO)
        _spoil(lemmy, "lemmy 500")
        assert client.check_session().custom_emoji_urls == {url}
        assert client.check_session().custom_emoji_urls == {url}
        assert len(_warnings(caplog)) == 1
        assert client.check_session().custom_emoji_urls == {url}  # read again
        assert "can be read again" in caplog.text
        _spoil(lemmy, "html page")
        client.check_session()
        assert len(_warnings(caplog)) == 2  # a new failure is said again
