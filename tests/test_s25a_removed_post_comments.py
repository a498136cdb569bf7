"""The backlog walk reaches the comments under a post a moderator removed.

Lemmy hides a removed post from `post/list` (0.19: from everyone; 1.0: from all but
admins), so a walk that finds comments only through the posts it lists never read them:
an abusive image in a comment under a removed post stayed on the instance, unclassified
by `modbot sweep`. Lemmy still shows those comments (`comment/list?post_id=`) and the
post itself to an admin and to the community's moderators (`GET /post`), and its modlog
names every post a moderator removed: the walk reads them from there.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.bot import Bot, sha
from support.policies import BAD, write_sweep_rules

from fakelemmy.scenarios import PASSWORD
from fakelemmy.state import now
from modbot.config.settings import Secret
from modbot.lemmy import LemmyClient
from modbot.lemmy.v4 import LemmyClientV4
from modbot.source import Source
from modbot.store import Store


def _client(lemmy, who: str = "modbot", *, read_only: bool = True):
    client = LemmyClientV4 if lemmy.v4 is not None else LemmyClient
    return client(lemmy.url, who, Secret(PASSWORD), requests_per_minute=0, read_only=read_only)


def _remove_post(lemmy, post_id: int) -> None:
    """The community's moderator removes the post, as through the web UI."""
    mod = _client(lemmy, "mod", read_only=False)
    try:
        mod.remove_post(post_id, "off topic")
    finally:
        mod.close()


def _walked(lemmy, tmp_path, who: str, since=None) -> list[tuple[str, int]]:
    client = _client(lemmy, who)
    try:
        source = Source(client, Store(tmp_path / f"{who}.sqlite3"), scope="t", uploads=False)
        return [
            (i.kind, i.id)
            for batch in source.walk(since)
            for i in batch
            if i.kind in ("post", "comment")
        ]
    finally:
        client.close()


@pytest.mark.both_lemmys
@pytest.mark.parametrize("who", ["modbot", "mod"])
def test_a_walk_reads_the_post_and_comments_a_moderator_removed(fake_lemmy, tmp_path, who):
    """`who`: the admin bot account, or a moderator of the community (a mod bot)."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    shown = lemmy.add_post(cast.pics, cast.alice, name="shown", body="text")
    seen = lemmy.add_comment(shown, cast.bob, content="fine")
    removed = lemmy.add_post(cast.pics, cast.alice, name="removed", body="text")
    first = lemmy.add_comment(removed, cast.bob, content="![a](https://img.example/a.png)")
    reply = lemmy.add_comment(
        removed, cast.alice, content="![b](https://img.example/b.png)", parent=first
    )
    restored = lemmy.add_post(cast.pics, cast.alice, name="restored", body="text")
    again = lemmy.add_comment(restored, cast.bob, content="back")
    _remove_post(lemmy, removed.id)
    _remove_post(lemmy, restored.id)
    mod = _client(lemmy, "mod", read_only=False)
    mod.restore_post(restored.id, "fine after all")
    mod.close()

    walked = _walked(lemmy, tmp_path, who)

    assert sorted(walked) == sorted(
        [
            ("post", shown.id),
            ("comment", seen.id),
            ("post", removed.id),
            ("comment", first.id),
            ("comment", reply.id),
            ("post", restored.id),
            ("comment", again.id),
        ]
    ), "every post and comment once: the restored post through the listing only"


@pytest.mark.both_lemmys
def test_since_bounds_the_removed_posts_read(fake_lemmy, tmp_path):
    """A walk back to `since` skips a removed post older than it, as it does a listed one,
    and reads the modlog no further than the first removal older than `since`."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    older = lemmy.add_post(
        cast.pics, cast.alice, name="older", published=now() - timedelta(days=50)
    )
    old = lemmy.add_post(cast.pics, cast.alice, name="old", published=now() - timedelta(days=40))
    lemmy.add_comment(old, cast.bob, content="old", published=now() - timedelta(days=39))
    new = lemmy.add_post(cast.pics, cast.alice, name="new")
    comment = lemmy.add_comment(new, cast.bob, content="![a](https://img.example/a.png)")
    _remove_post(lemmy, older.id)
    lemmy.state.modlog[-1].when = now() - timedelta(days=35)  # removed long ago
    _remove_post(lemmy, old.id)
    _remove_post(lemmy, new.id)
    lemmy.clear_requests()

    walked = _walked(lemmy, tmp_path, "mod", since=now() - timedelta(days=30))

    assert sorted(walked) == [("comment", comment.id), ("post", new.id)]
    read = [r.query.get("id") for r in lemmy.requests if r.path == lemmy.api_path("/api/v3/post")]
    # (0.19 asks each once without the login first: a removed post is not shown to it)
    assert sorted(set(read)) == sorted([str(old.id), str(new.id)]), "not the one removed long ago"


@pytest.mark.slow
@pytest.mark.both_lemmys
def test_sweep_classifies_and_removes_an_abusive_comment_under_a_removed_post(
    fake_lemmy, photos, tiny_checkpoint, tmp_path
):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    url = lemmy.add_remote_file("bad.jpg", photos[BAD])
    post = lemmy.add_post(cast.pics, cast.alice, name="off topic", body="text")
    comment = lemmy.add_comment(post, cast.bob, content=f"![x]({url})")
    _remove_post(lemmy, post.id)
    rules = write_sweep_rules(tmp_path, lemmy, tiny_checkpoint, known_bad=[sha(photos[BAD])])
    bot = Bot(lemmy, tmp_path, rules)

    done = bot("sweep", "--since", "30d")

    (decision,) = [
        d
        for d in bot.decisions()
        if (d["item"]["kind"], d["item"]["id"]) == ("comment", comment.id)
    ]
    assert decision["rule"] == "known abusive image"
    assert {a["action"]: a["status"] for a in decision["actions"]}["remove"] == "done"
    assert lemmy.comment(comment.id).removed
    assert lemmy.person(cast.bob.id).banned
    assert "done" in done.stdout
