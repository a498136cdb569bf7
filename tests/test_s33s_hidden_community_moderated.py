"""Lemmy 0.19's hidden communities the bot moderates are read.

0.19 leaves a hidden community's posts and comments out of ``post/list`` and
``comment/list`` (``All``, and ``community_id`` forces ``All``) for everyone but its
followers, admins too; ``type_=ModeratorView`` has no hidden filter, and lists them to
the community's moderators (0.19.9-0.19.20 ``post_view.rs``, ``comment_view.rs``). A
sweep named such a community "not checked" though the bot moderates it and could list
them; nothing in it was read."""

from __future__ import annotations

from test_s25a_removed_post_comments import _client

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.source import Source
from modbot.store import Store


def test_the_posts_and_comments_of_a_hidden_community_the_bot_moderates_are_read(tmp_path):
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        led = lemmy.add_community("led", hidden=True, moderators=[cast.bot.id])
        other = lemmy.add_community("other", hidden=True)
        post = lemmy.add_post(led, cast.alice, name="in a hidden community the bot moderates")
        comment = lemmy.add_comment(post, cast.bob, content="a comment")
        lemmy.add_post(other, cast.alice, name="in a hidden community the bot does not")
        shown = lemmy.add_post(cast.pics, cast.alice, name="elsewhere")
        said: list[str] = []
        client = _client(lemmy)
        store = Store(tmp_path / "s.sqlite3")
        try:
            source = Source(client, store, scope="t", uploads=False, warn=said.append)
            read = {(i.kind, i.id) for batch in source.walk() for i in batch}
            assert ("post", post.id) in read and ("comment", comment.id) in read, said
            assert ("post", shown.id) in read
            named = [w for w in said if "hidden" in w]
            assert len(named) == 1 and f"community {other.id}" in named[0], said

            # a deep poll reads what came since, as for 1.0's unlisted communities
            later = lemmy.add_post(led, cast.bob, name="a later post")
            reply = lemmy.add_comment(post, cast.alice, content="a later comment")
            polled = {(i.kind, i.id) for batch in source.poll(deep=True) for i in batch}
            assert ("post", later.id) in polled and ("comment", reply.id) in polled, said
        finally:
            client.close()
            store.close()
