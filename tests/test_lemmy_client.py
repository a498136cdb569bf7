"""The Lemmy client against the fake Lemmy: login, retries, rate cap, dry-run refusals."""

import pytest

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import (
    LemmyClient,
    LemmyError,
    LemmyLoginError,
    LemmyUnavailable,
    RateLimiter,
    ReadOnlyError,
)
from modbot.model import PlannedAction, Target
from modbot.store import Store


def client_for(lemmy, *, user="modbot", password="pw", sleeps=None, **kwargs):
    sleeps = [] if sleeps is None else sleeps
    return LemmyClient(
        lemmy.url,
        user,
        Secret(password),
        pictrs_url=lemmy.pictrs_url,
        pictrs_api_key=Secret(lemmy.pictrs_api_key),
        requests_per_minute=0,
        sleep=sleeps.append,
        **kwargs,
    )


def paths(lemmy):
    return [(r.method, r.path, r.status) for r in lemmy.requests if r.server == "lemmy"]


def test_logs_in_once_and_keeps_the_token(fake_lemmy):
    client = client_for(fake_lemmy)
    for _ in range(5):
        client.site()
        client.list_posts()
    assert [p for p in paths(fake_lemmy) if p[1] == "/api/v3/user/login"] == [
        ("POST", "/api/v3/user/login", 200)
    ]
    assert client.logins == 1 and client.requests == 11


def test_wrong_password_is_a_clear_error_without_retries(fake_lemmy):
    client = client_for(fake_lemmy, password="nope")
    with pytest.raises(LemmyLoginError, match="LEMMY_PASSWORD"):
        client.site()
    assert len(paths(fake_lemmy)) == 1
    assert "nope" not in repr(client)


def test_listing_parameters_avoid_lemmys_surprising_defaults(fake_lemmy):
    cast = fake_lemmy.cast
    for i in range(3):
        fake_lemmy.add_post(cast.nsfw, cast.alice, name=f"n{i}")
    client = client_for(fake_lemmy)
    posts, next_page = client.list_posts(limit=2)
    assert len(posts) == 2 and next_page
    more, _ = client.list_posts(page_cursor=next_page, limit=2)
    assert [p["post"]["name"] for p in posts + more] == ["n2", "n1", "n0"]
    query = next(r.query for r in fake_lemmy.requests if r.path == "/api/v3/post/list")
    assert query == {"sort": "New", "type_": "All", "limit": "2", "show_nsfw": "true"}
    client.list_comments(page=2)
    query = next(r.query for r in fake_lemmy.requests if r.path == "/api/v3/comment/list")
    assert query == {"sort": "New", "type_": "All", "limit": "50", "page": "2"}


def test_rate_limit_5xx_and_timeouts_are_retried_with_backoff(fake_lemmy):
    sleeps = []
    client = client_for(fake_lemmy, sleeps=sleeps, timeout=1.0)
    client.login()
    fake_lemmy.fail_next("/api/v3/site", times=2, status=400, error="rate_limit_error")
    fake_lemmy.fail_next("/api/v3/site", times=1, status=502)
    assert client.site()["my_user"]
    assert sleeps == [0.5, 1.0, 2.0]  # 2 rate limits, a 502
    statuses = [p[2] for p in paths(fake_lemmy) if p[1] == "/api/v3/site"]
    assert statuses == [400, 400, 502, 200]
    fake_lemmy.delay("/api/v3/post/list", 2.0, times=1)
    client.list_posts()
    assert sleeps == [0.5, 1.0, 2.0, 0.5]  # a timeout, then a fresh backoff
    assert [p[1] for p in paths(fake_lemmy)].count("/api/v3/post/list") == 2


def test_gives_up_with_a_clear_error_after_the_retries(fake_lemmy):
    client = client_for(fake_lemmy, retries=2)
    client.login()
    fake_lemmy.fail_next("/api/v3/post/list", times=5, status=503)
    with pytest.raises(LemmyUnavailable, match="after 2 retries"):
        client.list_posts()


def test_other_errors_are_not_retried(fake_lemmy):
    client = client_for(fake_lemmy)
    with pytest.raises(LemmyError) as err:
        client.remove_post(999, "x")
    assert err.value.error == "couldnt_find_post"
    assert [p for p in paths(fake_lemmy) if p[1] == "/api/v3/post/remove"] == [
        ("POST", "/api/v3/post/remove", 400)
    ]


def test_a_silently_dropped_token_is_noticed_on_site(fake_lemmy):
    client = client_for(fake_lemmy)
    assert client.ensure_session()["my_user"]
    fake_lemmy.invalidate_tokens("modbot")
    assert "my_user" not in client.site(), "Lemmy answers reads as for an anonymous visitor"
    assert client.ensure_session()["my_user"]
    assert client.logins == 2


def test_an_action_answered_401_logs_in_again_and_is_sent_once_more(fake_lemmy):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    client = client_for(fake_lemmy)
    client.login()
    fake_lemmy.invalidate_tokens("modbot")
    client.remove_post(post.id, "spam")
    assert fake_lemmy.post(post.id).removed
    tail = [p for p in paths(fake_lemmy) if p[1] != "/nodeinfo/2.0.json"][-3:]
    assert tail == [
        ("POST", "/api/v3/post/remove", 401),
        ("POST", "/api/v3/user/login", 200),
        ("POST", "/api/v3/post/remove", 200),
    ]


def test_a_login_refused_mid_run_fails_actions_for_a_retry_and_is_not_tried_again(
    fake_lemmy, tmp_path
):
    # The password changed while the bot runs: the dropped login cannot be renewed.
    cast = fake_lemmy.cast
    posts = [fake_lemmy.add_post(cast.pics, cast.alice) for _ in range(3)]
    client = client_for(fake_lemmy)
    client.login()
    fake_lemmy.invalidate_tokens("modbot")
    cast.bot.password = "rotated"
    store = Store(tmp_path / "state.sqlite3")
    executor = Executor(client, store, run_id="run", dry_run=False)
    remove = PlannedAction("remove", "spam", {}, "a rule")
    outcomes = [
        o
        for post in posts
        for o in executor.execute(
            Target(kind="post", id=post.id, url="x", author_id=cast.alice.id), [remove]
        )
    ]
    assert [(o.status, o.retry) for o in outcomes] == [("failed", True)] * 3
    assert all("check LEMMY_USERNAME and LEMMY_PASSWORD" in o.detail for o in outcomes)
    logins = [p for p in paths(fake_lemmy) if p[1] == "/api/v3/user/login"]
    assert logins == [("POST", "/api/v3/user/login", 200), ("POST", "/api/v3/user/login", 401)]
    assert not any(fake_lemmy.post(post.id).removed for post in posts)
    assert store.action("remove", f"post:{posts[0].id}")["status"] == "failed"
    store.close()


def test_actions_through_pythorhead_survive_a_502_and_a_rate_limit(fake_lemmy):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    sleeps = []
    client = client_for(fake_lemmy, sleeps=sleeps)
    fake_lemmy.fail_next("/api/v3/post/report", times=1, status=502)
    fake_lemmy.fail_next("/api/v3/post/report", times=1, status=400, error="rate_limit_error")
    client.report_post(post.id, "look")
    (report,) = fake_lemmy.reports
    assert report.reason == "look" and sleeps == [0.5, 1.0]


def test_a_read_only_client_refuses_every_mutation_before_sending(fake_lemmy):
    client = client_for(fake_lemmy, read_only=True)
    client.site()
    for call in (
        lambda: client.remove_post(1, "x"),
        lambda: client.save_user_settings(show_nsfw=True),
        lambda: client.purge_image_alias("a.jpg"),
        lambda: client.private_message(1, "x"),
        lambda: client.delete_image("a.jpg", "t"),
        lambda: client.ban_site(1, "x", expires=None, remove_data=False),
    ):
        with pytest.raises(ReadOnlyError):
            call()
    assert fake_lemmy.mutating_requests() == []


def test_pictrs_purge_sends_the_api_key_and_removes_every_alias(fake_lemmy, photos):
    cast = fake_lemmy.cast
    one = fake_lemmy.add_upload(cast.alice, photos["chelsea"])
    two = fake_lemmy.add_upload(cast.bob if cast.bob.local else cast.alice, photos["chelsea"])
    client = client_for(fake_lemmy)
    client.purge_image_alias(one.alias)
    assert not fake_lemmy.image_exists(one.alias) and not fake_lemmy.image_exists(two.alias)
    wrong = LemmyClient(
        fake_lemmy.url,
        "modbot",
        Secret("pw"),
        pictrs_url=fake_lemmy.pictrs_url,
        pictrs_api_key=Secret("wrong"),
        requests_per_minute=0,
    )
    with pytest.raises(LemmyError, match="PICTRS_API_KEY"):
        wrong.purge_image_alias(two.alias)
    assert client.purge_image_alias(one.alias)["already_gone"], "a purged alias is not an error"


def test_rate_cap_spaces_requests():
    now = [100.0]
    slept = []

    def sleep(seconds):
        slept.append(round(seconds, 3))
        now[0] += seconds

    limiter = RateLimiter(120, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        limiter.wait()
    assert slept == [0.5, 0.5, 0.5]  # 120 a minute: one every half second
    now[0] += 10
    limiter.wait()
    assert slept == [0.5, 0.5, 0.5], "no wait after an idle spell"
