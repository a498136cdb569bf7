"""After two logins Lemmy did not answer (8aca872: it may have counted each), logins
rest for a while, but in the process only: `run --once` from cron each minute, a new
process each time, sent two more at every run, spending Lemmy's few logins an hour
(0.19: 3, 1.0: 10 per address) long after it recovered. The rest is now a hold kept in
the state, as a login refused for its rate is, and the next process honours it."""

from __future__ import annotations

import json

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret
from modbot.lemmy.transport import Held
from modbot.lemmy.v4 import LemmyClientV4

LOGIN = "/api/v4/account/auth/login"


def client_for(lemmy) -> LemmyClientV4:
    return LemmyClientV4(
        lemmy.url,
        "modbot",
        Secret(PASSWORD),
        requests_per_minute=0,
        timeout=0.5,
        sleep=lambda _: None,
    )


def test_the_rest_after_unanswered_logins_is_kept_for_the_next_process():
    with FakeLemmy(version="1.0") as lemmy:
        standard_cast(lemmy)
        first = client_for(lemmy)
        kept: list[str] = []
        first.on_hold = kept.append
        lemmy.hold(LOGIN)  # Lemmy takes the logins and does not answer in time
        try:
            with pytest.raises(Held, match="Lemmy may have counted"):
                first.login()
        finally:
            lemmy.release(LOGIN)
            first.close()
        sent = sum(r.path == LOGIN for r in lemmy.requests)
        assert sent == 2
        assert kept and "login" in json.loads(kept[-1]), kept
        assert PASSWORD not in kept[-1]

        # the next process (cron's next `run --once`) takes the hold up: no login sent
        second = client_for(lemmy)
        second.restore_holds(kept[-1])
        try:
            with pytest.raises(Held) as held:
                second.login()
        finally:
            second.close()
        assert sum(r.path == LOGIN for r in lemmy.requests) == sent
        assert held.value.left() > 200  # the rest's end (5 minutes), not a fresh one
