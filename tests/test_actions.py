"""The action executor against the fake Lemmy: once only, never an admin, dry-run, valve."""

from datetime import timedelta

import pytest

from fakelemmy.state import now
from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient
from modbot.model import PlannedAction, Target
from modbot.store import Store


def act(kind, reason="why", **params):
    return PlannedAction(kind, reason, params, "a rule")


@pytest.fixture
def make(fake_lemmy, tmp_path):
    """Executors sharing one store file, as successive runs of the bot do."""
    made = []

    def build(*, dry_run=False, pictrs=True, valve=20):
        client = LemmyClient(
            fake_lemmy.url,
            "modbot",
            Secret("pw"),
            requests_per_minute=0,
            read_only=dry_run,
            pictrs_url=fake_lemmy.pictrs_url if pictrs else None,
            pictrs_api_key=Secret(fake_lemmy.pictrs_api_key) if pictrs else None,
        )
        store = Store(tmp_path / "state.sqlite3")
        cast = fake_lemmy.cast
        executor = Executor(
            client,
            store,
            run_id=f"run{len(made)}",
            dry_run=dry_run,
            max_destructive_per_hour=valve,
            admin_ids={cast.admin.id, cast.bot.id},
            bot_person_id=cast.bot.id,
            purge_by_alias=pictrs,
        )
        made.append((client, store))
        return executor

    yield build
    for client, store in made:
        client.close()
        store.close()


def post_target(post, author, **kw):
    return Target(
        kind="post",
        id=post.id,
        url=f"https://x/post/{post.id}",
        author_id=author.id,
        community_id=post.community_id,
        **kw,
    )


def statuses(outcomes):
    return [(o.action, o.status) for o in outcomes]


def test_an_action_done_is_never_repeated_even_after_a_restart(fake_lemmy, make):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    # (the report before the removal: Lemmy takes no report on a removed post)
    plan = [
        act("report"),
        act("ban", scope="site", duration_seconds=None, remove_data=False),
        act("remove"),
    ]
    first = make().execute(post_target(post, cast.alice), plan)
    assert statuses(first) == [("report", "done"), ("ban", "done"), ("remove", "done")]
    sent = len(fake_lemmy.mutating_requests())
    again = make().execute(post_target(post, cast.alice), plan)  # a new run, same store
    assert statuses(again) == [("report", "skipped"), ("ban", "skipped"), ("remove", "skipped")]
    assert all(o.detail.startswith("already done") for o in again)
    assert len(fake_lemmy.mutating_requests()) == sent
    assert len(fake_lemmy.reports) == 1


def test_an_admin_is_never_acted_on_whatever_the_plan_says(fake_lemmy, make):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.admin)
    plan = [act("remove"), act("purge_item"), act("ban", scope="site"), act("report")]
    # the admin list alone is enough, even when the item does not say creator_is_admin
    outcomes = make().execute(post_target(post, cast.admin), plan)
    assert {o.status for o in outcomes} == {"skipped"}
    assert all("admin" in o.detail for o in outcomes)
    assert fake_lemmy.mutating_requests() == []


def test_dry_run_plans_every_action_and_sends_nothing(fake_lemmy, make, photos):
    cast = fake_lemmy.cast
    upload = fake_lemmy.add_upload(cast.alice, photos["chelsea"])
    post = fake_lemmy.add_post(cast.pics, cast.alice, url=upload.url)
    executor = make(dry_run=True)
    target = post_target(post, cast.alice, image_alias=upload.alias, image_url=upload.url)
    plan = [
        act("remove"),
        act("purge_image"),
        act("ban", scope="community", duration_seconds=3600, remove_data=True),
        act("report"),
        act("notify_admins", "look at this"),
    ]
    outcomes = executor.execute(target, plan)
    executor.flush_notifications()
    assert [o.status for o in outcomes] == ["planned"] * 5
    assert "from community" in outcomes[2].detail and "removing their content" in outcomes[2].detail
    assert fake_lemmy.mutating_requests() == []
    assert executor.execute(target, plan[:1])[0].detail.startswith("already planned")


def test_admin_notifications_are_one_message_per_admin_and_once_per_item(fake_lemmy, make):
    cast = fake_lemmy.cast
    second_admin = fake_lemmy.add_person("admin2", admin=True, password="pw")
    executor = make()
    executor.admin_ids.add(second_admin.id)
    posts = [fake_lemmy.add_post(cast.pics, cast.alice, name=f"p{i}") for i in range(2)]
    for i, post in enumerate(posts):
        (outcome,) = executor.execute(
            post_target(post, cast.alice), [act("notify_admins", f"item {i}")]
        )
        assert outcome.status == "queued"
    executor.flush_notifications()
    messages = fake_lemmy.private_messages
    assert sorted(m.recipient_id for m in messages) == sorted([cast.admin.id, second_admin.id])
    assert all("item 0" in m.content and "item 1" in m.content for m in messages)
    assert cast.bot.id not in [m.recipient_id for m in messages], "the bot is not told"
    again = make().execute(post_target(posts[0], cast.alice), [act("notify_admins", "item 0")])
    assert statuses(again) == [("notify_admins", "skipped")]


def test_purge_image_without_pictrs_never_purges_the_post_but_uses_a_delete_token(
    fake_lemmy, make, photos
):
    cast = fake_lemmy.cast
    upload = fake_lemmy.add_upload(cast.alice, photos["chelsea"])
    post = fake_lemmy.add_post(cast.pics, cast.alice, url=upload.url)
    executor = make(pictrs=False)
    outcomes = executor.execute(
        post_target(post, cast.alice, image_alias=upload.alias, image_url=upload.url),
        [act("remove"), act("purge_image")],
    )
    assert statuses(outcomes) == [("remove", "done"), ("purge_image", "not_possible")]
    assert outcomes[1].detail.startswith("needs pict-rs access: set PICTRS_URL and PICTRS_API_KEY")
    assert fake_lemmy.post(post.id).removed and not fake_lemmy.post(post.id).purged
    assert fake_lemmy.image_exists(upload.alias)

    lone = fake_lemmy.add_upload(cast.alice, photos["coffee"])
    target = Target(
        kind="upload",
        id=lone.alias,
        author_id=cast.alice.id,
        image_alias=lone.alias,
        image_url=lone.url,
        delete_token=lone.delete_token,
    )
    (outcome,) = executor.execute(target, [act("purge_image")])
    assert outcome.status == "done" and not fake_lemmy.image_exists(lone.alias)

    comment = fake_lemmy.add_comment(fake_lemmy.add_post(cast.pics, cast.alice), cast.alice)
    remote = Target(
        kind="comment",
        id=comment.id,
        author_id=cast.alice.id,
        image_url="https://elsewhere.example/x.jpg",
    )
    (outcome,) = executor.execute(remote, [act("purge_image")])
    assert outcome.status == "not_possible" and outcome.detail.startswith("remote image: ")
    assert not [r for r in fake_lemmy.mutating_requests() if "purge" in r.path]


def test_a_timed_community_ban_expires(fake_lemmy, make):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    make().execute(
        post_target(post, cast.alice),
        [act("ban", scope="community", duration_seconds=7 * 86400, remove_data=False)],
    )
    ban = fake_lemmy.community_bans[(cast.pics.id, cast.alice.id)]
    assert abs(ban.expires - (now() + timedelta(days=7))) < timedelta(minutes=1)
    assert not fake_lemmy.person(cast.alice.id).banned, "a community ban, not a site ban"


def test_a_refused_action_is_recorded_failed_and_not_retried(fake_lemmy, make):
    cast = fake_lemmy.cast
    target = Target(kind="post", id=9999, author_id=cast.alice.id)
    (outcome,) = make().execute(target, [act("remove")])
    assert outcome.status == "failed" and "couldnt_find_post" in outcome.detail
    assert not outcome.retry


def test_lemmy_down_after_every_retry_asks_for_another_look(fake_lemmy, make):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    executor = make()
    executor.client.retries = 1
    fake_lemmy.fail_next("/api/v3/post/remove", times=2, status=502)
    (outcome,) = executor.execute(post_target(post, cast.alice), [act("remove")])
    assert outcome.status == "failed" and outcome.retry
    (outcome,) = make().execute(post_target(post, cast.alice), [act("remove")])
    assert outcome.status == "done" and fake_lemmy.post(post.id).removed


def test_the_safety_valve_reports_instead_and_tells_the_admins_once(fake_lemmy, make):
    cast = fake_lemmy.cast
    posts = [fake_lemmy.add_post(cast.pics, cast.alice, name=f"p{i}") for i in range(4)]
    executor = make(valve=2)
    results = [executor.execute(post_target(p, cast.alice), [act("remove", "bad")]) for p in posts]
    executor.flush_notifications()
    assert [statuses(r) for r in results] == [
        [("remove", "done")],
        [("remove", "done")],
        [("remove", "skipped"), ("report", "done")],
        [("remove", "skipped"), ("report", "done")],
    ]
    assert [r.target_id for r in fake_lemmy.reports] == [posts[2].id, posts[3].id]
    (message,) = fake_lemmy.private_messages
    assert "SAFETY VALVE" in message.content
    assert executor.store.valve_tripped()

    dry = make(dry_run=True, valve=1)
    planned = [dry.execute(post_target(p, cast.bob), [act("remove")]) for p in posts[2:]]
    assert statuses(planned[0]) == [("remove", "planned")]
    assert planned[1][0].status == "skipped" and "would trip" in planned[1][0].detail


def test_purge_item_is_the_only_way_a_post_is_purged(fake_lemmy, make):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice, url="https://elsewhere.example/a.jpg")
    target = post_target(post, cast.alice, image_url="https://elsewhere.example/a.jpg")
    outcomes = make(pictrs=False).execute(target, [act("purge_image"), act("purge_item")])
    assert statuses(outcomes) == [("purge_image", "not_possible"), ("purge_item", "done")]
    purges = [r for r in fake_lemmy.requests if r.path == "/api/v3/admin/purge/post"]
    assert len(purges) == 1 and fake_lemmy.post(post.id).purged


def test_the_valves_stand_in_report_is_not_filed_on_a_post_already_removed(fake_lemmy, make):
    """The valve held the purge after the post was removed: a report on it now would be
    refused (Lemmy takes none on a removed post), so none is filed; held before the
    removal, the report stands in, with a reason Lemmy takes."""
    cast = fake_lemmy.cast
    posts = [fake_lemmy.add_post(cast.pics, cast.alice, name=f"p{i}") for i in range(3)]
    executor = make(valve=2)
    executor.execute(post_target(posts[0], cast.alice), [act("remove", "bad")])
    removed_then_held = executor.execute(
        post_target(posts[1], cast.alice), [act("remove", "bad"), act("purge_item", "bad")]
    )
    assert statuses(removed_then_held) == [("remove", "done"), ("purge_item", "skipped")]
    held = executor.execute(post_target(posts[2], cast.alice), [act("remove", "x" * 1500)])
    assert statuses(held) == [("remove", "skipped"), ("report", "done")]
    (report,) = fake_lemmy.reports
    assert report.target_id == posts[2].id and len(report.reason) <= 1000


def test_a_report_retried_after_the_rules_removal_went_through_is_not_possible(fake_lemmy, make):
    """The report failed for a passing reason (502), the same rule's removal went
    through: next cycle Lemmy refuses the report (it takes none on a removed post), which
    is no failure of the report but a report that cannot be filed, and says so."""
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    comment = fake_lemmy.add_comment(fake_lemmy.add_post(cast.pics, cast.bob), cast.alice)
    comment_target = Target(kind="comment", id=comment.id, author_id=cast.alice.id)
    plan = [act("report"), act("remove")]
    executor = make()
    executor.client.retries = 0
    fake_lemmy.fail_next("/api/v3/post/report", times=1, status=502)
    fake_lemmy.fail_next("/api/v3/comment/report", times=1, status=502)
    for target in (post_target(post, cast.alice), comment_target):
        first = executor.execute(target, plan)
        assert statuses(first) == [("report", "failed"), ("remove", "done")]
        assert first[0].retry
    for target, kind in ((post_target(post, cast.alice), "post"), (comment_target, "comment")):
        report, remove = make().execute(target, plan)
        assert (report.status, remove.status) == ("not_possible", "skipped")
        assert report.detail == f"the {kind} is removed: Lemmy takes no report on a removed {kind}"
        assert not report.retry
        assert make().store.action("report", target.key)["status"] == "not_possible"
    assert fake_lemmy.reports == []


def test_no_stand_in_report_on_the_posts_a_stored_files_removal_took_down(fake_lemmy, make):
    """A stored file's `remove` takes down the posts showing it, which its report goes
    to: the valve holding the ban after it files no report on them (Lemmy takes none on
    a removed post), as for a post's own removal."""
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    target = Target(
        kind="file",
        id="abc.jpg",
        author_id=cast.alice.id,
        image_alias="abc.jpg",
        shown_by=(("post", post.id, cast.alice.id),),
    )
    plan = [act("remove"), act("ban", scope="site", duration_seconds=None, remove_data=False)]
    outcomes = make(valve=1).execute(target, plan)
    assert statuses(outcomes) == [("remove", "done"), ("ban", "skipped")]
    assert outcomes[1].valve
    assert fake_lemmy.post(post.id).removed and not fake_lemmy.person(cast.alice.id).banned
    assert not [r for r in fake_lemmy.requests if r.path.endswith("/report")]


def test_a_report_in_flight_at_a_kill_waits_when_the_login_fails_while_checking(fake_lemmy, make):
    """A run died while sending a report; when the next asks Lemmy whether it went, the
    login is refused (the password changed, or login rate-limited): that says nothing
    about the report, which is asked about again next cycle, not given up on as one
    Lemmy cannot show (never sent)."""
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    target = post_target(post, cast.alice)
    died = make()
    claim = died.store.claim_action("report", target.key, died.run_id, f"report post {post.id}")
    assert claim.outcome == "claimed"  # ... and the process died before sending it
    restarted = make()
    restarted.stale_runs.add(died.run_id)
    restarted.client.post(post.id)  # logged in
    fake_lemmy.invalidate_tokens("modbot")
    cast.bot.password, password = "changed", cast.bot.password
    (outcome,) = restarted.execute(target, [act("report")])
    assert outcome.status == "failed" and outcome.retry, outcome
    assert restarted.store.action("report", target.key)["status"] != "interrupted"
    cast.bot.password = password  # the admin put the password right
    later = make()
    later.stale_runs.add(died.run_id)
    (outcome,) = later.execute(target, [act("report")])
    assert outcome.status == "done", outcome
    assert [r.target_id for r in fake_lemmy.reports] == [post.id]


def test_an_uploaders_community_ban_in_flight_at_a_kill_is_not_taken_for_the_authors(
    fake_lemmy, make
):
    """`ban: {scope: community, uploader: true}`: the post's author was banned, then the
    run died while banning the uploader. Lemmy shows a community ban only on the banned
    person's own items: the post saying its author is banned says nothing about the
    uploader, whose ban is sent at the restart, not recorded done."""
    from fakelemmy.state import CommunityBan

    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    fake_lemmy.state.community_bans[(cast.pics.id, cast.alice.id)] = CommunityBan(
        cast.pics.id, cast.alice.id, None, "done before"
    )
    of_upload = post_target(post, cast.bob, author_name="bob", author_role="uploader of abc.jpg")
    key = f"community:{cast.pics.id}:person:{cast.bob.id}"
    died = make()
    assert died.store.claim_action("ban", key, died.run_id, "ban bob").outcome == "claimed"
    restarted = make()
    restarted.stale_runs.add(died.run_id)
    plan = [act("ban", scope="community", duration_seconds=None, remove_data=False)]
    (outcome,) = restarted.execute(of_upload, plan)
    assert outcome.status == "done" and "Lemmy shows it done" not in outcome.detail, outcome
    assert (cast.pics.id, cast.bob.id) in fake_lemmy.community_bans


def test_a_report_lemmy_took_before_failing_to_answer_is_done_when_sent_again(fake_lemmy, make):
    """A report Lemmy took but whose answer was lost (a proxy's 502 after Lemmy did it):
    sent again, Lemmy refuses a second report by the same account (0.19:
    `couldnt_create_report`); the bot's report is there, so the report is done, not
    failed."""
    from modbot.errors import LemmyUnavailable

    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    target = post_target(post, cast.alice)
    first = make()
    real = first.client.report_post

    def answer_lost(*args, **kwargs):
        real(*args, **kwargs)
        raise LemmyUnavailable("report post: still failing after 3 retries (HTTP 502)")

    first.client.report_post = answer_lost
    (outcome,) = first.execute(target, [act("report")])
    assert outcome.status == "failed" and outcome.retry
    (outcome,) = make().execute(target, [act("report")])
    assert outcome.status == "done", outcome
    assert [r.target_id for r in fake_lemmy.reports] == [post.id]
