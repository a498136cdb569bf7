"""Lemmy's holds (a login refused for its rate, a request refused with a long Retry-After)
are kept in the state for every process on it: the daemon, the gate's messages to the
admins, `run --once`. Each process wrote the holds *it* knew over the state's, so the
daemon's new hold on a request wiped the login hold the gate had kept: the next `run
--once` then sent a login inside Lemmy's window, which Lemmy counts (1.0's `register`
bucket, a few an hour per address). Holds are merged now (the one ending last wins),
in one write transaction."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret, Settings
from modbot.lemmy import LemmyUnavailable
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


def test_a_daemons_new_hold_keeps_the_login_hold_the_gate_wrote(tmp_path):
    with FakeLemmy(version="1.0", login_rate_limit=(1, 3600), rate_limit=(6, 600)) as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice)
        store = Store(tmp_path / "state.sqlite3")
        try:
            daemon = process(lemmy, store)  # started first: the state holds nothing yet
            daemon.login()  # the hour's one login
            gate = process(lemmy, store)  # the gate, telling the admins something
            with pytest.raises(Held, match="Lemmy refuses logins for now"):
                gate.login()  # its own login, refused for its rate: kept in the state
            gate.close()
            assert logins(lemmy) == [200, 429]

            while httpx.get(f"{lemmy.url}/api/v4/site").status_code != 429:
                pass  # the request bucket spent
            with pytest.raises(LemmyUnavailable, match="rate limited: Lemmy takes requests"):
                daemon.remove_post(post.id, "spam")  # a hold of its own, written
            daemon.close()

            kept = json.loads(store.get_cursor(f"holds:{lemmy.url}") or "{}")
            assert "remove post" in kept["requests"]
            assert kept["login"]["until"] > time.time() + 3000  # the gate's, not lost

            once = process(lemmy, store)  # cron's next `run --once`
            with pytest.raises(Held, match="Lemmy refuses logins for now"):
                once.login()
            once.close()
        finally:
            store.close()
        assert logins(lemmy) == [200, 429]  # no login sent inside Lemmy's window
        assert not lemmy.post(post.id).removed


def test_holds_merged_keep_the_later_end_of_each_and_drop_ended_ones():
    now = time.time()

    def hold(until: float, why: str) -> dict:
        return {"since": now - 10, "until": until, "why": why}

    kept = json.dumps(
        {
            "requests": {"GET /a": hold(now + 900, "kept a"), "GET /old": hold(now - 1, "ended")},
            "login": hold(now + 3600, "kept login"),
        }
    )
    new = json.dumps(
        {"requests": {"GET /a": hold(now + 60, "new a"), "GET /b": hold(now + 60, "new b")}}
    )
    merged = json.loads(LemmyClientV4.merge_holds(kept, new))
    assert {k: v["why"] for k, v in merged["requests"].items()} == {
        "GET /a": "kept a",
        "GET /b": "new b",
    }
    assert merged["login"]["why"] == "kept login"
    later = json.dumps({"requests": {}, "login": hold(now + 7200, "new login")})
    assert json.loads(LemmyClientV4.merge_holds(kept, later))["login"]["why"] == "new login"
    # a state that cannot be read holds nothing: the new holds are written whole
    assert json.loads(LemmyClientV4.merge_holds("{not json", new))["requests"].keys() == {
        "GET /a",
        "GET /b",
    }
