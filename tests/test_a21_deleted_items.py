"""A post or comment its author already deleted: what a removal and a report on it are."""

import pytest

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient, LemmyClientV4
from modbot.model import PlannedAction, Target
from modbot.store import Store


def act(kind, reason="why", **params):
    return PlannedAction(kind, reason, params, "a rule")


def client_of(lemmy):
    """The client of the fake's API version (as `api: auto` picks it)."""
    kind = LemmyClientV4 if lemmy.v4 is not None else LemmyClient
    return kind(lemmy.url, "modbot", Secret("pw"), requests_per_minute=0)


@pytest.fixture
def make(fake_lemmy, tmp_path):
    """Executors sharing one store file, as successive runs of the bot do."""
    made = []

    def build():
        client = client_of(fake_lemmy)
        store = Store(tmp_path / "state.sqlite3")
        made.append((client, store))
        cast = fake_lemmy.cast
        return Executor(
            client,
            store,
            run_id=f"run{len(made)}",
            dry_run=False,
            admin_ids={cast.admin.id, cast.bot.id},
            bot_person_id=cast.bot.id,
        )

    yield build
    for client, store in made:
        client.close()
        store.close()


def target(kind, item, author):
    return Target(kind=kind, id=item.id, url=f"https://x/{kind}/{item.id}", author_id=author.id)


def statuses(outcomes):
    return [(o.action, o.status) for o in outcomes]


@pytest.mark.both_lemmys
def test_a_deleted_comment_is_no_failure_lemmy_removes_none(fake_lemmy, make):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    comment = fake_lemmy.add_comment(post, cast.alice, content="a comment")
    comment.deleted = True  # by its author
    plan = [act("report"), act("remove")]
    for _ in range(2):  # seen again (a sweep): the same, never `failed`
        outcomes = make().execute(target("comment", comment, cast.alice), plan)
        assert statuses(outcomes) == [("report", "not_possible"), ("remove", "not_possible")]
        assert "deleted the comment" in outcomes[1].detail
        assert "Lemmy removes no deleted comment" in outcomes[1].detail
        assert "deleted the comment" in outcomes[0].detail
    assert not comment.removed


@pytest.mark.both_lemmys
def test_a_deleted_post_is_removed_and_not_reported(fake_lemmy, make):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    post.deleted = True
    outcomes = make().execute(target("post", post, cast.alice), [act("report"), act("remove")])
    assert statuses(outcomes) == [("report", "not_possible"), ("remove", "done")]
    assert "deleted the post" in outcomes[0].detail
    assert post.removed


@pytest.mark.both_lemmys
def test_an_item_read_says_deleted(fake_lemmy):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    comment = fake_lemmy.add_comment(post, cast.alice)
    post.deleted = comment.deleted = True
    client = client_of(fake_lemmy)
    try:
        assert client.post(post.id).deleted
        assert client.comment(comment.id).deleted
    finally:
        client.close()


@pytest.mark.both_lemmys
def test_undoing_the_removal_of_a_comment_its_author_deleted_since_says_so(fake_lemmy, tmp_path):
    from modbot.audit import Row
    from modbot.undo import carry_out, plan_undo

    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    comment = fake_lemmy.add_comment(post, cast.alice)
    comment.removed = comment.deleted = True  # removed by modbot, then deleted by alice
    record = {
        "run_id": "r1",
        "decided_at": "2026-01-01T00:00:00Z",
        "dry_run": False,
        "item": {"kind": "comment", "id": comment.id, "author_id": cast.alice.id},
        "rule": "bad",
        "actions": [
            {"action": "remove", "status": "done", "detail": f"remove comment {comment.id}"}
        ],
    }
    client, store = client_of(fake_lemmy), Store(tmp_path / "state.sqlite3")
    try:
        store.record_action("remove", f"comment:{comment.id}", "done", "remove", "r1")
        plan = plan_undo(store, [Row(1, record)])
        ((_step, outcome),) = carry_out(client, store, plan, run_id="u1", reason="undo")
    finally:
        client.close()
        store.close()
    # recorded as not possible (95305ce): never tried again, not a failure each run
    assert outcome.status == "not_possible"
    assert "deleted by its author" in outcome.detail and "restores no deleted" in outcome.detail
    assert comment.removed


@pytest.mark.both_lemmys
def test_the_admins_are_told_a_deleted_comment_was_not_removed(fake_lemmy, make):
    cast = fake_lemmy.cast
    post = fake_lemmy.add_post(cast.pics, cast.alice)
    comment = fake_lemmy.add_comment(post, cast.alice)
    comment.deleted = True
    executor = make()
    plan = [act("remove"), act("notify_admins", "Removed a bad image")]
    outcomes = executor.execute(target("comment", comment, cast.alice), plan)
    executor.flush_notifications()
    assert statuses(outcomes) == [("remove", "not_possible"), ("notify_admins", "done")]
    (message,) = fake_lemmy.private_messages
    assert "Removed a bad image [not removed: its author deleted the comment" in message.content
