"""Processes on one state share the bot's login (keep_login: `session:<url>:<user>`), but
a running daemon read the kept token only at its start: when Lemmy dropped the login (a
logout elsewhere, 1.0's week-long token expiring) and another process on the state (the
gate, a `run --once`) had logged in again already, the daemon spent a login of its own,
one of the few Lemmy takes an hour from one address; with the hour's logins spent, the
daemon was held back for up to an hour though a live token sat in the state. A login
dropped now takes up first the token the state keeps, when another process wrote a
newer one."""

from __future__ import annotations

import logging

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret, Settings
from modbot.lemmy.v3 import LemmyClient
from modbot.lemmy.v4 import LemmyClientV4
from modbot.session import keep_login
from modbot.store import Store

LOGIN_V4 = "/api/v4/account/auth/login"
LOGIN_V3 = "/api/v3/user/login"


def process(lemmy, store: Store, kind=LemmyClientV4):
    """A process's client on the state ``store``, its login kept as every command keeps it."""
    client = kind(
        lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda _: None
    )
    settings = Settings(lemmy_url=lemmy.url, username="modbot", password=Secret(PASSWORD))
    keep_login(client, store, settings)
    return client


def test_a_dropped_login_takes_up_the_token_another_process_kept(tmp_path, caplog):
    with FakeLemmy(version="1.0", login_rate_limit=(2, 3600)) as lemmy:
        standard_cast(lemmy)
        store = Store(tmp_path / "state.sqlite3")
        daemon = process(lemmy, store)
        gate = None
        try:
            daemon.login()
            gate = process(lemmy, store)  # takes up the daemon's token at its start
            lemmy.invalidate_tokens("modbot")  # a logout elsewhere: every token dropped
            assert (
                gate.account()["local_user_view"]["person"]["name"] == "modbot"
            )  # 401, logged in again, kept
            with caplog.at_level(logging.INFO, logger="modbot"):
                assert (
                    daemon.account()["local_user_view"]["person"]["name"] == "modbot"
                )  # 401: the gate's token taken up
            assert daemon.account()["local_user_view"]["person"]["name"] == "modbot"
        finally:
            if gate is not None:
                gate.close()
            daemon.close()
            store.close()
        assert [r.status for r in lemmy.requests if r.path == LOGIN_V4] == [200, 200]
        assert "another modbot process" in caplog.text
        assert PASSWORD not in caplog.text


def test_a_dropped_kept_token_too_is_followed_by_a_login(tmp_path):
    """The token the state keeps may be dropped too (Lemmy dropped every login after it
    was written): taken up, refused, then the daemon logs in itself, in the same request."""
    with FakeLemmy(version="1.0") as lemmy:
        standard_cast(lemmy)
        store = Store(tmp_path / "state.sqlite3")
        daemon = process(lemmy, store)
        gate = None
        try:
            daemon.login()
            gate = process(lemmy, store)
            lemmy.invalidate_tokens("modbot")
            gate.account()  # a new token in the state
            lemmy.invalidate_tokens("modbot")  # dropped as well
            assert daemon.account()["local_user_view"]["person"]["name"] == "modbot"
        finally:
            if gate is not None:
                gate.close()
            daemon.close()
            store.close()
        assert [r.status for r in lemmy.requests if r.path == LOGIN_V4] == [200, 200, 200]


def test_the_session_check_takes_up_the_kept_token_on_0_19(tmp_path):
    with FakeLemmy(login_rate_limit=(2, 3600)) as lemmy:
        cast = standard_cast(lemmy)
        store = Store(tmp_path / "state.sqlite3")
        daemon = process(lemmy, store, LemmyClient)
        gate = None
        try:
            daemon.check_session()  # the first login
            gate = process(lemmy, store, LemmyClient)
            lemmy.invalidate_tokens("modbot")
            gate.check_session()  # anonymous /site: logged in again, kept
            site = daemon.check_session()  # anonymous /site: the gate's token taken up
            assert site.account is not None and site.account.person_id == cast.bot.id
        finally:
            if gate is not None:
                gate.close()
            daemon.close()
            store.close()
        assert [r.status for r in lemmy.requests if r.path == LOGIN_V3] == [200, 200]
