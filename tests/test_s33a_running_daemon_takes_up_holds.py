"""A hold kept in the state reached only the processes started after it: a daemon
already running when the gate's login was refused for its rate (kept in the state,
`holds:<LEMMY_URL>`), its token dropped later, sent a login inside Lemmy's window all
the same, which Lemmy counts (1.0's `register` bucket: a few an hour per address),
though keep_login promises that no process sends what the state knows Lemmy refuses.
A login now takes up the holds the state keeps first."""

from __future__ import annotations

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret, Settings
from modbot.lemmy.transport import Held
from modbot.lemmy.v4 import LemmyClientV4
from modbot.session import keep_login
from modbot.store import Store

LOGIN = "/api/v4/account/auth/login"


def process(lemmy, store: Store) -> LemmyClientV4:
    """A process's client on the state ``store``, its login kept as every command keeps it."""
    client = LemmyClientV4(
        lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=lambda _: None
    )
    settings = Settings(lemmy_url=lemmy.url, username="modbot", password=Secret(PASSWORD))
    keep_login(client, store, settings)
    return client


def test_a_running_daemon_sends_no_login_inside_a_hold_the_gate_kept_since(tmp_path):
    with FakeLemmy(version="1.0", login_rate_limit=(1, 3600)) as lemmy:
        standard_cast(lemmy)
        store = Store(tmp_path / "state.sqlite3")
        try:
            daemon = process(lemmy, store)  # started first: the state holds nothing yet
            daemon.login()  # the hour's one login
            gate = process(lemmy, store)
            with pytest.raises(Held, match="Lemmy refuses logins for now"):
                gate.login()  # refused for its rate: kept in the state
            gate.close()

            lemmy.invalidate_tokens("modbot")  # the daemon's token dropped
            with pytest.raises(Held, match="Lemmy refuses logins for now"):
                daemon.account()  # 401: a login is due, and held
            daemon.close()
        finally:
            store.close()
        assert [r.status for r in lemmy.requests if r.path == LOGIN] == [200, 429]
