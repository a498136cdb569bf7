"""A Retry-After hold outlives the process that was told it: `modbot run --once` from
cron every minute, against a Lemmy that refuses logins for an hour (1.0's `register`
bucket, which logins share: 10 an hour per address by default) or answers 429
`Retry-After: 600`, sent the same refused request again at every run; a proxy counting
refusals (fail2ban on nginx's 429s) may then ban the bot's address. The hold is kept in
the state now, beside the login token, and a later run says when without asking."""

from __future__ import annotations

import httpx
import pytest
from support.bot import Bot
from support.policies import write_rules

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import PASSWORD, standard_cast
from modbot.config.settings import Secret, Settings
from modbot.lemmy import LemmyUnavailable
from modbot.lemmy.v4 import LemmyClientV4
from modbot.session import Session
from modbot.store import Store

LOGIN = "/api/v4/account/auth/login"


def logins(lemmy) -> list[int]:
    return [r.status for r in lemmy.requests if r.path == LOGIN]


def test_run_once_from_cron_does_not_try_a_login_again_before_its_retry_after(tiny, tmp_path):
    with FakeLemmy(version="1.0", login_rate_limit=(1, 3600)) as lemmy:
        lemmy.cast = standard_cast(lemmy)
        bot = Bot(lemmy, tmp_path, write_rules(tmp_path, lemmy, tiny))
        bot("run", "--once")  # the hour's one login; its token kept in the state
        store = Store(bot.state)
        try:
            token = store.get_cursor(f"session:{lemmy.url}:modbot")
        finally:
            store.close()
        assert token
        lemmy.invalidate_tokens("modbot")  # dropped: a logout elsewhere
        refused = bot("run", "--once", rc=1)
        assert "Lemmy refuses logins for now" in refused.stderr
        assert "it takes them again in 35" in refused.stderr
        assert logins(lemmy) == [200, 429]

        for _ in range(2):  # the next minutes' runs: no login sent, the same words
            again = bot("run", "--once", rc=1)
            assert "Lemmy refuses logins for now" in again.stderr
            assert "UTC (its Retry-After)" in again.stderr
            assert logins(lemmy) == [200, 429]
        for out in (refused, again):
            assert token not in out.stderr + out.stdout
            assert "'password'" not in out.stderr and '"password"' not in out.stderr


def session_for(lemmy, store: Store, slept: list[float]) -> LemmyClientV4:
    """A new process's client on the state ``store``, as `run` builds it."""
    client = LemmyClientV4(
        lemmy.url, "modbot", Secret(PASSWORD), requests_per_minute=0, sleep=slept.append
    )
    settings = Settings(lemmy_url=lemmy.url, username="modbot", password=Secret(PASSWORD))
    Session(client, store, settings, dry_run=False, warn=lambda _: None)
    return client


def test_a_retry_after_hold_on_a_request_is_kept_for_the_next_process(tmp_path):
    with FakeLemmy(version="1.0", rate_limit=(4, 600)) as lemmy:
        cast = standard_cast(lemmy)
        post = lemmy.add_post(cast.pics, cast.alice)
        store = Store(tmp_path / "state.sqlite3")
        try:
            slept: list[float] = []
            first = session_for(lemmy, store, slept)
            first.login()
            while httpx.get(f"{lemmy.url}/api/v4/site").status_code != 429:
                pass  # someone else at this address spends the bucket
            with pytest.raises(LemmyUnavailable, match="rate limited: Lemmy takes requests again"):
                first.remove_post(post.id, "spam")
            first.close()

            second = session_for(lemmy, store, slept)  # the next `run --once`
            with pytest.raises(
                LemmyUnavailable, match=r"not sent before then \(said \d+ s ago\)"
            ) as held:
                second.remove_post(post.id, "spam")
            assert held.value.error == "rate_limit_error"
            second.close()
        finally:
            store.close()
        removals = [r for r in lemmy.requests if r.path == "/api/v4/post/remove"]
        assert [r.status for r in removals] == [429]
        assert slept == []
        assert not lemmy.post(post.id).removed


def test_a_broken_or_past_hold_in_the_state_holds_nothing(tmp_path):
    with FakeLemmy(version="1.0") as lemmy:
        standard_cast(lemmy)
        store = Store(tmp_path / "state.sqlite3")
        try:
            store.set_cursor(f"holds:{lemmy.url}", "{not json")
            session_for(lemmy, store, []).login()
            store.set_cursor(
                f"holds:{lemmy.url}",
                '{"login": {"until": 1.0, "since": 0.0, "why": "old"}, '
                '"requests": {"GET /site": {"until": 2.0, "since": 1.0, "why": "old"}}}',
            )
            client = session_for(lemmy, store, [])
            client.login()
            client.api("GET", "/site")
        finally:
            store.close()
        assert logins(lemmy) == [200, 200]
