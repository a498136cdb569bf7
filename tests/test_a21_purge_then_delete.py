"""One rule asking `purge_image` and `delete_image`: the purge takes the file with every
alias, so the alias is not deleted again (no second request, no second count against the
safety valve)."""

import pytest

from modbot.actions.executor import Executor
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient
from modbot.model import PlannedAction, Target
from modbot.store import Store


def act(kind):
    return PlannedAction(kind, "why", {}, "a rule")


@pytest.mark.parametrize("dry_run", [False, True])
def test_delete_image_after_purge_image_of_the_same_alias_is_not_sent(
    fake_lemmy, photos, tmp_path, dry_run
):
    cast = fake_lemmy.cast
    upload = fake_lemmy.add_upload(cast.alice, photos["chelsea"])
    post = fake_lemmy.add_post(cast.pics, cast.alice, url=upload.url)
    client = LemmyClient(
        fake_lemmy.url,
        "modbot",
        Secret("pw"),
        requests_per_minute=0,
        read_only=dry_run,
        pictrs_url=fake_lemmy.pictrs_url,
        pictrs_api_key=Secret(fake_lemmy.pictrs_api_key),
    )
    store = Store(tmp_path / "state.sqlite3")
    try:
        executor = Executor(
            client,
            store,
            run_id="r1",
            dry_run=dry_run,
            admin_ids={cast.admin.id, cast.bot.id},
            bot_person_id=cast.bot.id,
            purge_by_alias=True,
            pictrs_api=True,
        )
        target = Target(
            kind="post",
            id=post.id,
            author_id=cast.alice.id,
            image_alias=upload.alias,
            image_url=upload.url,
        )
        purge, delete = executor.execute(target, [act("purge_image"), act("delete_image")])
        assert purge.status == ("planned" if dry_run else "done")
        assert delete.status == "skipped" and "purge" in delete.detail
        assert not [r for r in fake_lemmy.requests if r.path == "/internal/delete"]
        if not dry_run:
            assert store.destructive_done_since(0) == 1
            assert store.action("delete_image", f"alias:{upload.alias}") is None
    finally:
        client.close()
        store.close()
