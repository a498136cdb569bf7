"""Lemmy 1.0's unlisted communities: their posts are in no listing but the community's
own, even for admins (`PostQuery::list`: `filter_unlisted_or_followed` on `all` and
`local` without a `community_id`), their comments in none but `moderator_view` (a
`community_id` forces `all`, which filters them; LemmyNet/lemmy 1.0.0-beta.1,
crates/db_views/{post,comment}/src/impls.rs, crates/api/api/src/federation/mod.rs).

modbot listed posts with `type_=all` only: an abusive image posted in an unlisted
community was never looked at, by the daemon or by a sweep. It now lists the posts of
the unlisted communities `community/list` shows (a sweep: all of them; a deep poll: some
in turn), and their comments as the community's moderator; where the bot does not
moderate the community, Lemmy lists them to it nowhere, and the run says so.
"""

from __future__ import annotations

import json

import pytest
from support.bot import sha
from support.cli import bot_environment
from support.policies import BAD, write_rules
from test_s25a_removed_post_comments import _client

from fakelemmy import FakeLemmy
from fakelemmy.scenarios import standard_cast
from modbot.cli import main
from modbot.source import POLL_UNLISTED, Source
from modbot.store import Store

RULES = """
  - name: known abusive image
    priority: 100
    if: {hash_list: known-bad}
    then: {remove: "known abusive image"}
"""
NOT_LISTED = "unlisted community: Lemmy 1.0 lists its comments only to its followers"


@pytest.fixture
def lemmy_1_0():
    with FakeLemmy(version="1.0") as lemmy:
        lemmy.cast = standard_cast(lemmy)
        yield lemmy


def _scene(lemmy, photos):
    """Two unlisted communities: `quiet`, which the bot moderates, and `hidden`, which it
    does not; in each an image post and a comment showing the known-bad photo."""
    cast = lemmy.cast
    url = lemmy.add_remote_file("bad.jpg", photos[BAD])
    quiet = lemmy.add_community("quiet", visibility="unlisted", moderators=[cast.bot.id])
    hidden = lemmy.add_community("hidden", visibility="unlisted")
    found = {}
    for community in (quiet, hidden):
        post = lemmy.add_post(community, cast.alice, name=f"in {community.name}", url=url)
        reply = lemmy.add_comment(post, cast.bob, content=f"![x]({url})")
        found[community.name] = (post, reply)
    return found


def _run(lemmy, photos, tiny, tmp_path, monkeypatch, *args):
    rules = write_rules(tmp_path, lemmy, tiny, known_bad=[sha(photos[BAD])], rules=RULES)
    monkeypatch.chdir(tmp_path)
    bot_environment(monkeypatch, lemmy, tmp_path / "state.sqlite3", rules)
    assert main(list(args)) == 0


def _decided(tmp_path) -> dict:
    store = Store(tmp_path / "state.sqlite3")
    try:
        return {(d["item"]["kind"], d["item"]["id"]): d for d in store.decisions()}
    finally:
        store.close()


@pytest.mark.parametrize("command", [["sweep", "--since", "30d"], ["run", "--once"]])
def test_an_image_in_an_unlisted_community_is_classified_and_acted_on(
    lemmy_1_0, photos, tiny, tmp_path, monkeypatch, capsys, command
):
    lemmy = lemmy_1_0
    scene = _scene(lemmy, photos)
    (quiet_post, quiet_reply), (hidden_post, hidden_reply) = scene["quiet"], scene["hidden"]

    _run(lemmy, photos, tiny, tmp_path, monkeypatch, *command)

    decided = _decided(tmp_path)
    for item in (quiet_post, hidden_post):
        decision = decided[("post", item.id)]
        assert decision["rule"] == "known abusive image"
        assert [(a["action"], a["status"]) for a in decision["actions"]] == [("remove", "done")]
        assert lemmy.post(item.id).removed
    # the bot moderates `quiet`: Lemmy lists its comments to it (moderator_view)
    assert decided[("comment", quiet_reply.id)]["rule"] == "known abusive image"
    assert lemmy.comment(quiet_reply.id).removed
    # `hidden`'s comments are listed to no one but its followers and moderators
    assert ("comment", hidden_reply.id) not in decided
    assert not lemmy.comment(hidden_reply.id).removed
    if command[0] == "sweep":  # the walk knows which post it could not read comments of
        out = capsys.readouterr().out
        assert f"comments of 1 post not read ({NOT_LISTED}" in out
        assert f"post {hidden_post.id}" in out.split(NOT_LISTED, 1)[1]
    # what was asked: the unlisted communities' own listings, comments as a moderator
    posts_by_community = {
        r.query.get("community_id")
        for r in lemmy.requests
        if r.path == "/api/v4/post/list" and "community_id" in r.query
    }
    assert posts_by_community == {
        str(scene["quiet"][0].community_id),
        str(hidden_post.community_id),
    }
    assert any(
        r.path == "/api/v4/comment/list" and r.query.get("type_") == "moderator_view"
        for r in lemmy.requests
    )
    assert not lemmy.read_marking_requests(), "a community's listing marks nothing read"


def test_a_deep_poll_reads_the_unlisted_communities_in_turn(lemmy_1_0, tmp_path):
    """A poll stays cheap: a deep one reads POLL_UNLISTED unlisted communities, the next
    deep one the others, round the list; a shallow poll none of them."""
    lemmy, cast = lemmy_1_0, lemmy_1_0.cast
    communities = [
        lemmy.add_community(f"u{i}", visibility="unlisted") for i in range(POLL_UNLISTED + 2)
    ]
    posts = {lemmy.add_post(c, cast.alice, name=c.name).id: c.id for c in communities}
    client = _client(lemmy)
    source = Source(client, Store(tmp_path / "s.sqlite3"), scope="t", uploads=False)

    def read(deep: bool) -> tuple[list[int], list[int]]:
        lemmy.clear_requests()
        items = [i for batch in source.poll(deep=deep) for i in batch]
        for item in items:  # decided and recorded, as the pipeline does
            source.mark_seen(item)
        got = [i.id for i in items if i.kind == "post"]
        asked = [
            int(r.query["community_id"])
            for r in lemmy.requests
            if r.path == "/api/v4/post/list" and "community_id" in r.query
        ]
        return got, asked

    try:
        got, first = read(deep=True)
        assert len(first) == POLL_UNLISTED
        assert sorted(got) == sorted(p for p, c in posts.items() if c in first)
        assert read(deep=False) == ([], []), "a shallow poll reads no unlisted community"
        got, second = read(deep=True)
        rest = [c.id for c in communities if c.id not in first]
        assert sorted(second[:2]) == sorted(rest) and len(second) == POLL_UNLISTED, "in turn"
        assert sorted(got) == sorted(p for p, c in posts.items() if c in rest)
    finally:
        client.close()


def test_a_community_made_unlisted_later_is_walked_by_the_next_sweep(lemmy_1_0, tmp_path):
    """The sweep's list of unlisted communities is the one it reads each time; its
    position (the communities left, the page) survives a stop."""
    lemmy, cast = lemmy_1_0, lemmy_1_0.cast
    first = lemmy.add_community("first", visibility="unlisted")
    later = lemmy.add_community("later")
    a = lemmy.add_post(first, cast.alice, name="a")
    b = lemmy.add_post(later, cast.alice, name="b")
    client = _client(lemmy)
    store = Store(tmp_path / "s.sqlite3")
    try:
        source = Source(client, store, scope="t", uploads=False)
        walked = [i.id for batch in source.walk() for i in batch if i.kind == "post"]
        assert sorted(walked) == [a.id, b.id]  # b through the listing of every post
        lemmy.state.communities[later.id].visibility = "unlisted"
        c = lemmy.add_post(later, cast.alice, name="c")
        stopped = source.walk()
        for batch in stopped:  # stop as the pipeline does, right after the first community
            if any(i.kind == "post" for i in batch):
                break
        stopped.close()
        position = json.loads(store.get_cursor("t:sweep_position") or "{}")
        assert position.get("phase") == "unlisted", position
        rest = [i.id for batch in source.walk() for i in batch if i.kind == "post"]
        assert c.id in rest
        assert sorted(json.loads(store.get_cursor("t:unlisted") or "[]")) == [first.id, later.id]
    finally:
        client.close()
        store.close()


def test_0_19_lists_as_before(fake_lemmy, tmp_path):
    """0.19 has no unlisted communities: a sweep and a deep poll ask what they asked
    before (no community's own listing, no moderator view)."""
    lemmy, cast = fake_lemmy, fake_lemmy.cast
    post = lemmy.add_post(cast.pics, cast.alice, name="p")
    comment = lemmy.add_comment(post, cast.bob, content="c")
    client = _client(lemmy)
    try:
        for name in ("walk", "poll"):
            source = Source(client, Store(tmp_path / f"{name}.sqlite3"), scope="t", uploads=False)
            lemmy.clear_requests()
            batches = source.walk() if name == "walk" else source.poll(deep=True)
            read = [(i.kind, i.id) for b in batches for i in b if i.kind in ("post", "comment")]
            assert read == [("post", post.id), ("comment", comment.id)], name
            listings = [r for r in lemmy.requests if r.path.endswith("/list")]
            assert not [r.query for r in listings if "community_id" in r.query], name
            assert {r.query.get("type_") for r in listings} <= {"All", None}, name
    finally:
        client.close()
