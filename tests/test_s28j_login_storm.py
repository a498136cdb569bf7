"""A login Lemmy refuses mid-run is tried once, not once per action nor retried in
seconds: Lemmy allows only a few logins an hour (the `register` bucket), so each
needless try spends one."""

from __future__ import annotations

import pytest

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyLoginError, LemmyUnavailable
from modbot.model import PlannedAction, Target
from modbot.store import Store


def client_for(lemmy, sleeps):
    return LemmyClient(
        lemmy.url, "modbot", Secret("pw"), requests_per_minute=0, sleep=sleeps.append
    )


def logins(lemmy):
    return [r.status for r in lemmy.requests if r.path == "/api/v3/user/login"]


def removals_for(lemmy, tmp_path, client, n):
    cast = lemmy.cast
    posts = [lemmy.add_post(cast.pics, cast.alice) for _ in range(n)]
    store = Store(tmp_path / "state.sqlite3")
    try:
        executor = Executor(client, store, run_id="run", dry_run=False)
        remove = PlannedAction("remove", "spam", {}, "a rule")
        return posts, [
            o
            for post in posts
            for o in executor.execute(
                Target(kind="post", id=post.id, url="x", author_id=cast.alice.id), [remove]
            )
        ]
    finally:
        store.close()


def test_a_login_refused_with_400_mid_run_is_not_tried_again_by_each_action(tmp_path):
    """Lemmy answers 400 to a login it refuses for the account (banned, deleted, its
    email unverified, two-factor on): like a wrong password, tried once, not again for
    a while, and said in words that say what to do."""
    with FakeLemmy() as lemmy:
        lemmy.cast = standard_cast(lemmy)
        client = client_for(lemmy, [])
        client.login()
        lemmy.invalidate_tokens("modbot")
        lemmy.cast.bot.banned = True
        posts, outcomes = removals_for(lemmy, tmp_path, client, 3)
        assert [(o.status, o.retry) for o in outcomes] == [("failed", True)] * 3
        assert "refused (site_ban)" in outcomes[0].detail
        assert "`modbot doctor` says what to do" in outcomes[0].detail
        assert not any(lemmy.post(p.id).removed for p in posts)
        assert logins(lemmy) == [200, 400]
        with pytest.raises(LemmyLoginError, match="site_ban") as refused:
            client.login()
        assert refused.value.error == "site_ban"
        assert logins(lemmy) == [200, 400]


def test_a_rate_limited_login_is_not_retried_in_seconds_nor_by_each_action(tmp_path):
    with FakeLemmy(login_rate_limit=(1, 3600)) as lemmy:
        lemmy.cast = standard_cast(lemmy)
        sleeps: list[float] = []
        client = client_for(lemmy, sleeps)
        client.login()  # the hour's one login
        lemmy.invalidate_tokens("modbot")  # dropped: a logout elsewhere
        posts, outcomes = removals_for(lemmy, tmp_path, client, 3)
        assert [(o.status, o.retry) for o in outcomes] == [("failed", True)] * 3
        assert "few logins an hour" in outcomes[0].detail
        # one try, refused: no retries seconds apart, no new try per action
        assert logins(lemmy) == [200, 400]
        assert sleeps == []
        assert not any(lemmy.post(p.id).removed for p in posts)
        with pytest.raises(LemmyUnavailable, match="few logins an hour"):
            client.login()
        assert logins(lemmy) == [200, 400]
