"""Lemmy 0.19's hidden communities (an admin's ``community/hide``): ``post/list`` and
``comment/list`` leave their posts and comments out for everyone but the community's
followers, admins included, whatever ``type_`` or ``community_id`` (0.19.9-0.19.20
``post_view.rs``/``comment_view.rs``: ``community::hidden.eq(false).or(is_subscribed)``;
``community/list`` shows the community itself to admins). The bot never read a thing of
one it does not follow, and a sweep said nothing of it: it now names each such community,
and what to do."""

from __future__ import annotations

from test_s25a_removed_post_comments import _client

from modbot.source import Source
from modbot.store import Store


def test_a_sweep_names_the_hidden_communities_it_cannot_read(fake_lemmy, tmp_path):
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    quiet = lemmy.add_community("quiet")
    post = lemmy.add_post(quiet, cast.alice, name="in a hidden community")
    lemmy.add_comment(post, cast.bob, content="a comment")
    shown = lemmy.add_post(cast.pics, cast.alice, name="elsewhere")

    def hide(body):  # the list shows it to an admin, hidden, not followed
        for view in body.get("communities", []):
            if view["community"]["id"] == quiet.id:
                view["community"]["hidden"] = True
                view["subscribed"] = "NotSubscribed"
        return body

    def unlisted(key):  # as 0.19 lists to a reader who does not follow it
        def change(body):
            body[key] = [v for v in body.get(key, []) if v["community"]["id"] != quiet.id]
            return body

        return change

    lemmy.tamper("/api/v3/community/list", hide)
    lemmy.tamper("/api/v3/post/list", unlisted("posts"))
    lemmy.tamper("/api/v3/comment/list", unlisted("comments"))
    said: list[str] = []
    client = _client(lemmy)
    store = Store(tmp_path / "s.sqlite3")
    try:
        source = Source(client, store, scope="t", uploads=False, warn=said.append)
        read = [i.id for batch in source.walk() for i in batch if i.kind == "post"]
        assert read == [shown.id]
        named = [w for w in said if f"community {quiet.id}" in w]
        assert len(named) == 1, said
        assert "hidden" in named[0] and "follow" in named[0], named
        # a community followed (or not hidden) is read as any other: nothing said
        said.clear()
        lemmy.tamper("/api/v3/community/list", None)
        list(source.walk())
        assert not [w for w in said if "hidden" in w], said
    finally:
        client.close()
        store.close()
