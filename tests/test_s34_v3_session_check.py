"""Lemmy 0.19's session check (``ensure_session``: GET /site, a login when it answers as
to an anonymous visitor).

Before: a /site that is JSON but not Lemmy's (a proxy's or cache's: no ``site_view``)
spent a login at every check, then blamed the account; and a token another process kept
in the state, taken up when Lemmy dropped this one's (c9123cf), failed that check when it
was gone too ("still answers as for an anonymous visitor"), though a login would do."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret, Settings
from modbot.errors import LemmyBadAnswer
from modbot.lemmy.v3 import LemmyClient
from modbot.session import keep_login
from modbot.store import Store


@pytest.fixture
def lemmy():
    with FakeLemmy() as fake:
        standard_cast(fake)
        yield fake


def logins(lemmy: FakeLemmy) -> int:
    return len([r for r in lemmy.requests if r.path.endswith("/user/login")])


def client(lemmy: FakeLemmy) -> LemmyClient:
    return LemmyClient(
        lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda _: None
    )


def test_a_site_answer_that_is_not_lemmys_spends_no_login(lemmy) -> None:
    c = client(lemmy)
    try:
        c.check_session()
        assert logins(lemmy) == 1
        lemmy.tamper("/api/v3/site", lambda body: {"ok": True})
        for _ in range(2):
            with pytest.raises(LemmyBadAnswer, match="no site_view"):
                c.check_session()
        assert logins(lemmy) == 1
    finally:
        c.close()


def test_a_kept_token_gone_too_is_followed_by_a_login_in_the_same_check(
    lemmy, tmp_path: Path
) -> None:
    store = Store(tmp_path / "state.sqlite3")
    settings = Settings(lemmy_url=lemmy.url, username="modbot", password=Secret(PASSWORD))
    daemon, gate = client(lemmy), client(lemmy)
    try:
        for c in (daemon, gate):
            keep_login(c, store, settings)
        daemon.check_session()
        lemmy.invalidate_tokens("modbot")
        gate.check_session()  # logs in again, its token kept in the state
        lemmy.invalidate_tokens("modbot")  # and that one dropped too
        site = daemon.check_session()
        assert site.account is not None and site.account.person_id
        assert logins(lemmy) == 3  # the daemon's, the gate's, the daemon's again
    finally:
        daemon.close()
        gate.close()
        store.close()
