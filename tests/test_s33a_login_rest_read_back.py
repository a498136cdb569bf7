"""A rest after logins Lemmy did not answer (two timeouts or 500s: Lemmy may have
counted each), taken up by the next process from the state, read back as a login
refused for its rate (`rate_limit_error`): the doctor's words for it ("Lemmy refuses
logins for now") and its code were not what happened. It keeps its own code and status
now."""

from __future__ import annotations

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret, Settings
from modbot.doctor import login_problem
from modbot.lemmy.transport import Held
from modbot.lemmy.v4 import LemmyClientV4
from modbot.session import keep_login
from modbot.store import Store

LOGIN = "/api/v4/account/auth/login"


def logins(lemmy) -> list[int]:
    return [r.status for r in lemmy.requests if r.path == LOGIN]


def process(lemmy, store: Store, timeout: float = 20.0) -> LemmyClientV4:
    """A process's client on the state ``store``, its login kept as every command keeps it."""
    client = LemmyClientV4(
        lemmy.url,
        "modbot",
        Secret(PASSWORD),
        requests_per_minute=0,
        timeout=timeout,
        sleep=lambda _: None,
    )
    settings = Settings(lemmy_url=lemmy.url, username="modbot", password=Secret(PASSWORD))
    keep_login(client, store, settings)
    return client


def test_a_rest_after_unanswered_logins_reads_back_as_itself_not_as_a_rate_limit(tmp_path):
    with FakeLemmy(version="1.0") as lemmy:
        standard_cast(lemmy)
        store = Store(tmp_path / "state.sqlite3")
        try:
            first = process(lemmy, store, timeout=0.5)
            lemmy.hold(LOGIN)  # Lemmy takes the logins and does not answer in time
            try:
                with pytest.raises(Held, match="Lemmy may have counted") as rested:
                    first.login()
            finally:
                lemmy.release(LOGIN)
                first.close()
            sent = len(logins(lemmy))

            second = process(lemmy, store)  # the next `run --once`
            with pytest.raises(Held, match="Lemmy may have counted") as restored:
                second.login()
            second.close()
        finally:
            store.close()
        assert len(logins(lemmy)) == sent  # the rest honoured
        assert restored.value.error == rested.value.error != "rate_limit_error"
        assert restored.value.status == rested.value.status
        said = login_problem(restored.value, "modbot")
        assert "refuses logins for now" not in said and "rate_limit_error" not in said, said
        assert "Lemmy may have counted" in said
