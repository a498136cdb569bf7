"""A hidden community the bot follows with its follow still pending (a remote
community's Accept not come): Lemmy 0.19 lists its posts and comments to the bot all
the same (post_view.rs:341-357, comment_view.rs:217-233: ``is_subscribed`` is any
``community_follower`` row, pending too), so the bot reads them and must not say it
checked none of them and should follow it.

Before, ``views_v3.communities`` marked a hidden community unread unless ``subscribed
== "Subscribed"``, so a pending follow ("Pending") got the warning while its posts were
read (found with the fake modelling 0.19's hidden communities and follows, 692ab11)."""

from __future__ import annotations

from test_s25a_removed_post_comments import _client

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.source import Source
from modbot.store import Store


def test_a_pending_follow_of_a_hidden_community_is_read_and_not_warned_of(tmp_path):
    with FakeLemmy() as lemmy:
        cast = standard_cast(lemmy)
        quiet = lemmy.add_community("quiet", hidden=True, local=False, instance="far.example")
        post = lemmy.add_post(quiet, cast.bob, name="in a hidden community")
        lemmy.follow(quiet, cast.bot, state="pending")
        said: list[str] = []
        client = _client(lemmy)
        store = Store(tmp_path / "s.sqlite3")
        try:
            source = Source(client, store, scope="t", uploads=False, warn=said.append)
            read = [i.id for batch in source.walk() for i in batch if i.kind == "post"]
            assert read == [post.id]  # Lemmy lists it: the bot reads it
            assert not [w for w in said if "hidden" in w], said
        finally:
            client.close()
            store.close()
